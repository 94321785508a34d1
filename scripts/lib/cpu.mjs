// The machine a benchmark ran on: the CPU model, its cores and the features that decide which
// int8 products the engine has (the relaxed byte dot product is exact on u8 × i8 only with
// AVX-VNNI), for every figure to name them.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';

export function cpuInfo() {
  const info = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const flags = (info.match(/^flags\s*:\s*(.*)$/m)?.[1] ?? '').split(' ');
  return {
    model: os.cpus()[0]?.model ?? 'unknown CPU',
    cores: os.cpus().length,
    avx2: flags.includes('avx2'),
    avxVnni: flags.includes('avx_vnni'),
    avx512Vnni: flags.includes('avx512_vnni'),
  };
}

/** One line for a results header: `Intel Xeon, 2 cores, AVX2 yes, AVX-VNNI yes, AVX512-VNNI no`. */
export function cpuLine(cpu = cpuInfo()) {
  const yes = (b) => (b ? 'yes' : 'no');
  return `${cpu.model}, ${cpu.cores} cores, AVX2 ${yes(cpu.avx2)}, AVX-VNNI ${yes(cpu.avxVnni)}, AVX512-VNNI ${yes(cpu.avx512Vnni)}`;
}
