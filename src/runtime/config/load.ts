// Reading a JSON configuration file through the platform, bounded in size.
import type { Files } from '../platform/types.js';
import { errorCode } from '../platform/errors.js';
import { ConfigError } from './config-error.js';
import { parseJsonDocument, type JsonDocument } from './json-document.js';

const CONFIG_BYTES_MAX = 1024 * 1024;

export async function readJsonConfig(files: Files, file: string): Promise<JsonDocument> {
  return parseJsonDocument(await readConfigText(files, file), file);
}

/** A configuration file's text: bounded in size, valid UTF-8, errors naming the file. */
export async function readConfigText(files: Files, file: string): Promise<string> {
  let data: Buffer;
  try {
    data = await files.readFile(file);
  } catch (error) {
    throw new ConfigError('ERR_CONFIG_READ', file, `cannot read: ${errorCode(error) ?? String(error)}`);
  }
  if (data.length > CONFIG_BYTES_MAX) throw new ConfigError('ERR_CONFIG_READ', file, `larger than ${CONFIG_BYTES_MAX} bytes`);
  const text = data.toString('utf8');
  if (text.includes('\uFFFD')) throw new ConfigError('ERR_CONFIG_SYNTAX', file, 'not valid UTF-8');
  return text;
}

/** `--config <file>` from a service's arguments; anything else is an error. */
export function configArgument(args: readonly string[], service: string): string {
  if (args.length === 2 && args[0] === '--config' && args[1] !== undefined && args[1] !== '') return args[1];
  const match = args.length === 1 ? /^--config=(.+)$/.exec(args[0] ?? '') : null;
  if (match?.[1] !== undefined) return match[1];
  throw new ConfigError('ERR_CONFIG_ARGS', service, `usage: ${service} --config <file.json>; got ${JSON.stringify(args)}`);
}
