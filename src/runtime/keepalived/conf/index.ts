// The keepalived.conf parser: a pure function from text to configuration.
export { parseKeepalivedConf } from './parse.js';
export type { ParseOptions } from './context.js';
export { KeepalivedConfError, KEEPALIVED_CONF_ERROR_CODE, DEFAULT_CONF_FILE_NAME, formatConfWarning, type ConfPosition } from './errors.js';
export type * from './types.js';
