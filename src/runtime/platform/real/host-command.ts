// Runs a host tool (ip, arping) with a bounded time and turns its failure into
// an error that says what ran and what the tool printed.
import { execFile } from 'node:child_process';

/** A host tool exited non-zero, timed out, or could not be started. */
export class HostCommandError extends Error {
  readonly code = 'ERR_HOST_COMMAND_FAILED';
  readonly command: string;
  readonly stderr: string;
  readonly exitCode: number | undefined;

  constructor(command: string, detail: string, stderr: string, exitCode: number | undefined) {
    super(`ERR_HOST_COMMAND_FAILED: \`${command}\` ${detail}${stderr === '' ? '' : `: ${stderr}`}`);
    this.name = 'HostCommandError';
    this.command = command;
    this.stderr = stderr;
    this.exitCode = exitCode;
  }
}

/** Output beyond this is cut off; ip and arping print a few lines. */
const outputBytesMax = 64 * 1024;

export function runHostCommand(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  const command = [file, ...args].join(' ');
  return new Promise<string>((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: outputBytesMax, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error === null) {
        resolve(stdout);
        return;
      }
      const exitCode = typeof error.code === 'number' ? error.code : undefined;
      const detail =
        error.killed === true ? `timed out after ${timeoutMs} ms`
        : exitCode !== undefined ? `exited with code ${exitCode}`
        : `failed to run (${String(error.code ?? error.message)})`;
      reject(new HostCommandError(command, detail, stderr.trim(), exitCode));
    });
  });
}
