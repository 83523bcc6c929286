/**
 * A one-line description of the machine a benchmark ran on, for the tables in package READMEs.
 * Benchmark numbers mean little without it.
 */
import os from 'node:os';

/** What a benchmark result depends on, beyond the code. */
export interface MachineInfo {
  /** CPU model as the OS reports it, e.g. `AMD EPYC`. */
  readonly cpu: string;
  /** Logical CPUs available to this process. */
  readonly cores: number;
  /** Total memory in GiB. */
  readonly memoryGiB: number;
  /** e.g. `linux x64 6.1.0`. */
  readonly os: string;
  /** e.g. `v20.20.2`. */
  readonly node: string;
  /** V8 version, e.g. `11.3.244.8-node.33`. */
  readonly v8: string;
}

/** Reads the machine description. */
export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpu: (cpus[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim(),
    cores: typeof os.availableParallelism === 'function' ? os.availableParallelism() : cpus.length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    os: `${os.platform()} ${os.arch()} ${os.release()}`,
    node: process.version,
    v8: process.versions.v8,
  };
}

/** The machine as one line, e.g. `AMD EPYC, 2 cores, 24 GiB, linux x64 6.1.0, Node v20.20.2`. */
export function describeMachine(info: MachineInfo = machineInfo()): string {
  return `${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB, ${info.os}, Node ${info.node} (V8 ${info.v8})`;
}
