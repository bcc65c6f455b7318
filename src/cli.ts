// Entry point of both processes. The user's command line starts the capture process
// (or the launcher that detaches it); the capture process starts the monitor with its
// role and its settings as one argument. Each role's code is loaded only once the role
// is known, so that neither process maps the other's native addons (the monitor never
// maps the privilege drop's addon or the capture readers, the capture process never
// the syslog socket's).

import fs = require('node:fs');
import { StartupError, messageOf } from './shared/errors.js';
import { MONITOR_ROLE, parseMonitorArgument, type MonitorSettings } from './shared/options.js';
import { releaseStartupPages } from './shared/procctl.js';
import type { SettingsWithSources } from './capture/settings.js';
import type { CaptureStatus } from './capture/main.js';

function statusReporter(fd: number): CaptureStatus {
  let open = true;
  return {
    report(line) {
      if (!open) return;
      try {
        fs.writeSync(fd, `${line}\n`);
      } catch {
        open = false;
      }
    },
    close() {
      if (!open) return;
      open = false;
      try {
        fs.closeSync(fd);
      } catch {
        // Already gone with the launcher.
      }
    },
  };
}

/** One line, on the status pipe of a detached start or else on stderr, then exit 1. */
function failStartup(err: unknown, status: CaptureStatus | null): never {
  const line = `scanlogd: ${messageOf(err)}`;
  if (status !== null) status.report(`error ${line}`);
  else process.stderr.write(`${line}\n`);
  if (!(err instanceof StartupError)) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
  process.exit(1);
}

function runMonitorRole(args: readonly string[]): void {
  let settings: MonitorSettings;
  try {
    if (args.length !== 1) throw new StartupError('the monitor takes its settings as one argument');
    settings = parseMonitorArgument(args[0] as string);
  } catch (err) {
    failStartup(err, null);
  }
  try {
    releaseStartupPages(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- each role's code is loaded once the role is known
    (require('./monitor/main.js') as typeof import('./monitor/main.js')).runMonitor(settings);
    releaseStartupPages(false);
  } catch (err) {
    failStartup(err, settings.statusFd === null ? null : statusReporter(settings.statusFd));
  }
}

export function main(argv: readonly string[], entryScript: string): void {
  if (argv[0] === MONITOR_ROLE[0] && argv[1] === MONITOR_ROLE[1]) {
    runMonitorRole(argv.slice(MONITOR_ROLE.length));
    return;
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- each role's code is loaded once the role is known
  const { blameOf, buildProgram, configText, resolveSettings } = require('./capture/settings.js') as typeof import('./capture/settings.js');
  const program = buildProgram();
  let resolved: SettingsWithSources;
  try {
    resolved = resolveSettings(argv, program);
  } catch (err) {
    const statusFd = program.opts<{ statusFd?: number }>().statusFd;
    failStartup(err, statusFd === undefined ? null : statusReporter(statusFd));
  }
  const { settings } = resolved;
  const blame = blameOf(resolved);
  if (settings.check || settings.printConfig) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- each role's code is loaded once the role is known
      (require('./capture/preflight.js') as typeof import('./capture/preflight.js')).checkStart(settings, entryScript, blame);
    } catch (err) {
      failStartup(err, null);
    }
    process.stdout.write(settings.printConfig ? configText(resolved, program) : 'configuration OK\n');
    return;
  }
  if (!settings.foreground) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- each role's code is loaded once the role is known
    (require('./capture/launcher.js') as typeof import('./capture/launcher.js')).launchDaemon(entryScript, argv);
    return;
  }
  const status = settings.statusFd === null ? null : statusReporter(settings.statusFd);
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- each role's code is loaded once the role is known
    (require('./capture/restart.js') as typeof import('./capture/restart.js')).restartUnderStartFilter(
      entryScript,
      argv,
      settings.statusFd,
    );
    releaseStartupPages(true);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- each role's code is loaded once the role is known
    (require('./capture/main.js') as typeof import('./capture/main.js')).runCapture(settings, entryScript, status, blame);
    releaseStartupPages(false);
  } catch (err) {
    failStartup(err, status);
  }
}
