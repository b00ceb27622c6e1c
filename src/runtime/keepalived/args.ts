// keepalived's command line, the part this implementation honours: -f/--use-file,
// and the flags a supervisor passes that need no action here because the
// process never forks and always logs to its own stderr.
import { ConfigError } from '../config/config-error.js';

export interface KeepalivedArgs {
  configPath: string;
}

const IGNORED_FLAGS = new Set(['-n', '--dont-fork', '-l', '--log-console', '-D', '--log-detail', '-P', '--vrrp']);
const DEFAULT_CONFIG_PATH = '/etc/keepalived/keepalived.conf';

export function parseKeepalivedArgs(args: readonly string[]): KeepalivedArgs {
  let configPath = DEFAULT_CONFIG_PATH;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-f' || arg === '--use-file') {
      const value = args[++i];
      if (value === undefined) throw new ConfigError('ERR_CONFIG_ARGS', 'command line', `${arg} needs a file name`);
      configPath = value;
    } else if (arg.startsWith('--use-file=')) {
      configPath = arg.slice('--use-file='.length);
    } else if (!IGNORED_FLAGS.has(arg)) {
      throw new ConfigError('ERR_CONFIG_ARGS', 'command line', `unknown option ${JSON.stringify(arg)}; usage: keepalived -f <keepalived.conf> [-n] [-l] [-D]`);
    }
  }
  return { configPath };
}
