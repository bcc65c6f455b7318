// Runs a Node child as the daemon's halves run: from a fresh image under the start filter.
import path = require('node:path');

const SRC = path.resolve(__dirname, '..', 'src');

/**
 * Node arguments that run `args` from a fresh image under the start filter. Where libuv
 * sets up an io_uring as the runtime starts (1.49 and later), a filter that refuses
 * io_uring would otherwise stop a loop that already holds a ring.
 */
export function underStartFilter(args: string[]): string[] {
  const launcher = `
    const procctl = require(${JSON.stringify(path.join(SRC, 'shared', 'procctl.js'))}).loadProcCtl();
    require(${JSON.stringify(path.join(SRC, 'shared', 'sandbox.js'))}).installStartFilter(procctl);
    const env = Object.entries(process.env).filter(([name]) => name !== 'UV_USE_IO_URING').map(([name, value]) => name + '=' + value);
    procctl.execve(process.execPath, [process.execPath, ...process.argv.slice(1)], env, [0, 1, 2]);
  `;
  return ['-e', launcher, '--', ...args];
}
