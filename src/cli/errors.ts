/**
 * The CLI contract (../shared/CLI.md): exit 1 = the job failed, exit 2 = bad usage or a
 * bad input file. Commands throw a CliError; main prints its one-line message on stderr.
 */
export class CliError extends Error {
  constructor(
    readonly exitCode: 1 | 2,
    message: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export const usageError = (message: string): CliError => new CliError(2, message);
export const jobFailed = (message: string): CliError => new CliError(1, message);
