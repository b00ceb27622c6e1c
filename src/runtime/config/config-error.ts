// Errors in configuration files name the file, and where known the line,
// column and key path, so a user can go straight to the mistake.
export type ConfigErrorCode = 'ERR_CONFIG_READ' | 'ERR_CONFIG_SYNTAX' | 'ERR_CONFIG_INVALID' | 'ERR_CONFIG_ARGS';

export interface ConfigLocation {
  line: number;
  column: number;
}

export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  readonly file: string;
  readonly location: ConfigLocation | undefined;
  /** Key path inside the document, e.g. "users[0].password". */
  readonly keyPath: string | undefined;

  constructor(code: ConfigErrorCode, file: string, problem: string, where: { location?: ConfigLocation; keyPath?: string } = {}) {
    const at = where.location === undefined ? file : `${file}:${where.location.line}:${where.location.column}`;
    super(`${code}: ${at}: ${where.keyPath === undefined ? '' : `${where.keyPath}: `}${problem}`);
    this.name = 'ConfigError';
    this.code = code;
    this.file = file;
    this.location = where.location;
    this.keyPath = where.keyPath;
  }
}
