/**
 * Checks what would be published, package by package. Each package under packages/ is packed
 * with `pnpm pack`, which applies `publishConfig` and turns `workspace:` ranges into versions
 * exactly as `pnpm publish` (and so `changeset publish`) does, and the tarball is checked:
 *
 * - publint reports nothing, warnings included (`--strict`);
 * - attw (Are the Types Wrong?) reports nothing under its `esm-only` profile: the packages are
 *   ESM only, so `require()` from CommonJS and the pre-exports `node10` resolution are not
 *   supported uses, and the profile leaves out exactly those two resolution modes;
 * - the packed `exports` and `imports` have no `@mqtt-sessions/source` condition, and the packed
 *   `exports` is the workspace's `exports` without it, so that `exports` and
 *   `publishConfig.exports` cannot drift apart;
 * - the packed package.json has no `workspace:` range, and caret ranges on the other
 *   `@mqtt-sessions/*` packages;
 * - the package has a LICENSE of its own (npm pack ships only that one), and the tarball has the
 *   repository's LICENSE;
 * - every package that the published declarations (`dist/**\/*.d.ts`) import is a dependency or
 *   a required peer, and one whose types come from DefinitelyTyped has its `@types/` package
 *   there too (Node's built-in modules aside);
 * - every source file that a source map or declaration map names is in the tarball.
 *
 * The packages must be built first (`pnpm build`). Run it with
 * `node --import tsx tooling/publish/check-packages.ts [package-dir...]`; the exit code is 1 when
 * something is off.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE_CONDITION = '@mqtt-sessions/source';
const SCOPE = '@mqtt-sessions/';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const bin = (name: string) => join(root, 'node_modules', '.bin', name);

interface Manifest {
  name: string;
  version: string;
  exports?: unknown;
  imports?: unknown;
  publishConfig?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  types?: string;
  typings?: string;
}

/** The problems found in one package; empty when it is ready to publish. */
function checkPackage(dir: string, scratch: string): string[] {
  const problems: string[] = [];
  const workspace = readJson(join(dir, 'package.json'));
  const tarball = pack(dir, scratch);
  const unpacked = join(scratch, 'unpacked');
  execFileSync('tar', ['-xzf', tarball, '-C', scratch]);
  renameSync(join(scratch, 'package'), unpacked);
  const packed = readJson(join(unpacked, 'package.json'));

  problems.push(...run('publint', [bin('publint'), 'run', tarball, '--strict']));
  problems.push(
    ...run('attw', [
      bin('attw'),
      tarball,
      '--profile',
      'esm-only',
      '--no-color',
      '--no-emoji',
      '--format',
      'ascii',
    ]),
  );
  problems.push(...checkManifest(workspace, packed));
  problems.push(...checkLicense(dir, unpacked));
  problems.push(...checkDeclarationImports(dir, unpacked, packed));
  problems.push(...checkSourceMaps(unpacked));
  return problems;
}

function pack(dir: string, scratch: string): string {
  const out = execFileSync('pnpm', ['pack', '--json', '--pack-destination', scratch], {
    cwd: dir,
    encoding: 'utf8',
  });
  const { filename } = JSON.parse(out) as { filename: string };
  return resolve(scratch, filename);
}

/** Runs a checker; its output is a problem when it exits with an error. */
function run(label: string, command: string[]): string[] {
  const [file = '', ...args] = command;
  const result = spawnSync(file, args, {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (result.status === 0) return [];
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim();
  return [`${label} failed (exit ${result.status}):\n${indent(output)}`];
}

function checkManifest(workspace: Manifest, packed: Manifest): string[] {
  const problems: string[] = [];
  if (JSON.stringify([packed.exports, packed.imports]).includes(SOURCE_CONDITION))
    problems.push(`the packed exports or imports still name the ${SOURCE_CONDITION} condition`);
  if (JSON.stringify(packed).includes('workspace:'))
    problems.push('the packed package.json still has a workspace: range');
  const expected = JSON.stringify(withoutSourceCondition(workspace.exports));
  if (JSON.stringify(packed.exports) !== expected)
    problems.push(
      `the packed exports are not the workspace's exports without ${SOURCE_CONDITION} ` +
        '(publishConfig.exports and exports have drifted apart)',
    );
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const) {
    for (const [name, range] of Object.entries(packed[field] ?? {})) {
      if (name.startsWith(SCOPE) && !/^\^\d+\.\d+\.\d+$/.test(range))
        problems.push(`${field}.${name} is ${range}, not a caret range (use workspace:^)`);
    }
  }
  return problems;
}

function withoutSourceCondition(exports: unknown): unknown {
  if (exports === null || typeof exports !== 'object') return exports;
  return Object.fromEntries(
    Object.entries(exports)
      .filter(([key]) => key !== SOURCE_CONDITION)
      .map(([key, value]) => [key, withoutSourceCondition(value)]),
  );
}

function checkLicense(dir: string, unpacked: string): string[] {
  // pnpm falls back to the workspace root's LICENSE; npm pack does not.
  if (!existsSync(join(dir, 'LICENSE')))
    return ['the package has no LICENSE of its own, so npm pack would leave it out'];
  const license = join(unpacked, 'LICENSE');
  if (!existsSync(license)) return ['LICENSE is not in the tarball'];
  if (readFileSync(license, 'utf8') !== readFileSync(join(root, 'LICENSE'), 'utf8'))
    return ["the packed LICENSE is not the repository's LICENSE"];
  return [];
}

/** Bare specifiers imported by the published declarations, by package name. */
function declarationImports(unpacked: string): Map<string, string> {
  const found = new Map<string, string>();
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;
  for (const file of walk(unpacked)) {
    if (!file.endsWith('.d.ts')) continue;
    for (const match of readFileSync(file, 'utf8').matchAll(pattern)) {
      const specifier = match[1] ?? '';
      if (specifier.startsWith('.') || specifier.startsWith('node:')) continue;
      const parts = specifier.split('/');
      const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
      if (!found.has(name)) found.set(name, relative(unpacked, file));
    }
  }
  return found;
}

function checkDeclarationImports(dir: string, unpacked: string, packed: Manifest): string[] {
  const problems: string[] = [];
  const optional = packed.peerDependenciesMeta ?? {};
  const required = new Set([
    ...Object.keys(packed.dependencies ?? {}),
    ...Object.keys(packed.peerDependencies ?? {}).filter((name) => !optional[name]?.optional),
  ]);
  for (const [name, file] of declarationImports(unpacked)) {
    if (name === packed.name) continue;
    if (!required.has(name)) {
      problems.push(`${file} imports ${name}, which is not a dependency or a required peer`);
      continue;
    }
    if (!name.startsWith(SCOPE) && !shipsTypes(dir, name)) {
      const typesName = `@types/${name.replace(/^@([^/]+)\//, '$1__')}`;
      if (!required.has(typesName))
        problems.push(
          `${file} imports ${name}, which has no types of its own: ${typesName} must be a dependency`,
        );
    }
  }
  return problems;
}

/**
 * The source maps and declaration maps point into `src/`: the package ships its sources so that
 * "go to definition" lands on them and stack traces name their lines. A map whose source is not
 * in the tarball points nowhere.
 */
function checkSourceMaps(unpacked: string): string[] {
  const problems: string[] = [];
  for (const file of walk(unpacked)) {
    if (!file.endsWith('.map')) continue;
    const map = JSON.parse(readFileSync(file, 'utf8')) as {
      sourceRoot?: string;
      sources?: string[];
    };
    for (const source of map.sources ?? []) {
      const path = resolve(dirname(file), map.sourceRoot ?? '', source);
      if (!existsSync(path))
        problems.push(
          `${relative(unpacked, file)} points at ${source}, which is not in the tarball`,
        );
    }
  }
  return problems.slice(0, 5);
}

/** Whether the installed package `name` (as the package at `dir` sees it) has its own types. */
function shipsTypes(dir: string, name: string): boolean {
  const installed = join(dir, 'node_modules', name);
  const manifest = readJson(join(installed, 'package.json'));
  if (manifest.types !== undefined || manifest.typings !== undefined) return true;
  if (JSON.stringify(manifest.exports ?? null).includes('"types"')) return true;
  return existsSync(join(installed, 'index.d.ts'));
}

function* walk(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

function readJson(file: string): Manifest {
  return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}

function main(args: readonly string[]): number {
  const dirs =
    args.length > 0
      ? args.map((dir) => resolve(dir))
      : readdirSync(join(root, 'packages'))
          .map((name) => join(root, 'packages', name))
          .filter((dir) => existsSync(join(dir, 'package.json')));
  let failed = 0;
  for (const dir of dirs) {
    const scratch = mkdtempSync(join(tmpdir(), 'mqtt-sessions-pack-'));
    try {
      const name = readJson(join(dir, 'package.json')).name;
      const problems = checkPackage(dir, scratch);
      if (problems.length === 0) {
        console.log(
          `ok   ${name}: publint, attw (esm-only), manifest, LICENSE, types, source maps`,
        );
      } else {
        failed++;
        console.log(`FAIL ${name}`);
        for (const problem of problems) console.log(`  - ${problem}`);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  console.log(`${dirs.length - failed} of ${dirs.length} packages ready to publish`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
