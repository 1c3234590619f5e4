import { pino, type Logger } from "pino";

/**
 * The one logger of the process: structured JSON to stderr (fd 2), so stdout stays
 * free for a command's `--json` summary. Level from SWARMSUP_LOG (default "info";
 * tests set "silent" or "warn" through the same variable).
 */
export const log: Logger = pino(
  { name: "swarmsup", level: process.env.SWARMSUP_LOG ?? "info" },
  pino.destination({ fd: 2, sync: false }),
);

export type { Logger };
