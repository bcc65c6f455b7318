// Loading the project's own native addons (binding.gyp, built into build/Release/ by
// npm ci). Each is loaded by one adapter module, and only by the process that needs it.

import path = require('node:path');
import { StartupError, describe } from './errors.js';

/** Where node-gyp puts the addons, relative to dist/src/shared. */
export const ADDON_DIR = path.join(__dirname, '..', '..', '..', 'build', 'Release');

export function addonPath(name: string): string {
  return path.join(ADDON_DIR, `${name}.node`);
}

/**
 * Loads build/Release/NAME.node (once: Node keeps loaded modules). A failure is a
 * one-line start-up error: `what`, the file, the loader's first line (Node appends the
 * require stack on further lines), and `remedy`.
 */
export function loadAddon<T>(name: string, what: string, remedy = 'npm ci builds it'): T {
  const file = addonPath(name);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the one place addons are loaded
    return require(file) as T;
  } catch (err) {
    const why = describe(err).split('\n')[0] ?? '';
    throw new StartupError(`${what} ${file}: ${why} (${remedy})`, { cause: err });
  }
}
