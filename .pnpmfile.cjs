// Native addons (better-sqlite3) build with node-gyp, which downloads Node's headers unless it
// is told where they are. pnpm passes no npm_config_* setting from .npmrc to install scripts,
// so point node-gyp at the headers installed with the running Node, when they are there: a build
// then needs no network. Where they are missing, node-gyp downloads them as usual.
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

const nodeDir = dirname(dirname(process.execPath));

module.exports = {
  hooks: {
    updateConfig(config) {
      if (
        process.env.npm_config_nodedir ||
        !existsSync(join(nodeDir, 'include', 'node', 'node.h'))
      ) {
        return config;
      }
      return { ...config, extraEnv: { ...config.extraEnv, npm_config_nodedir: nodeDir } };
    },
  },
};
