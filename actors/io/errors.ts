/** Typed errors of the file-IO layer: each says which file, where and what. */

/**
 * A request the worker refused without touching the disk. It is the caller's bug (the wire
 * codec range-checks peers' requests before this layer), so the worker replies it and stays up.
 */
export type FileIoRefusal =
  | { readonly kind: "outOfRange"; readonly offset: number; readonly length: number; readonly fileLength: number }
  | { readonly kind: "malformed"; readonly detail: string }
  | { readonly kind: "tooLong"; readonly length: number; readonly max: number }
  | { readonly kind: "overloaded"; readonly queued: number };

export class FileIoError extends Error {
  readonly code = "file_io_refused";
  constructor(
    readonly fileIndex: number,
    readonly path: string,
    readonly refusal: FileIoRefusal,
  ) {
    super(`file ${fileIndex} (${path}): ${describeRefusal(refusal)}`);
    this.name = "FileIoError";
  }
}

function describeRefusal(refusal: FileIoRefusal): string {
  switch (refusal.kind) {
    case "outOfRange":
      return `range [${refusal.offset}, +${refusal.length}) is outside the file's ${refusal.fileLength} bytes`;
    case "malformed":
      return `malformed request: ${refusal.detail}`;
    case "tooLong":
      return `a read of ${refusal.length} bytes is longer than the ${refusal.max} allowed`;
    case "overloaded":
      return `${refusal.queued} requests already queued`;
    default: {
      const never: never = refusal;
      return `unknown refusal ${JSON.stringify(never)}`;
    }
  }
}

/** The file ended before the bytes asked for: it was truncated behind our back (we extend files at open). */
export class ShortReadError extends Error {
  readonly code = "short_read";
  constructor(
    readonly path: string,
    readonly position: number,
    readonly wanted: number,
    readonly got: number,
  ) {
    super(`${path}: read ${got} of ${wanted} bytes at ${position}: the file is shorter than the torrent says`);
    this.name = "ShortReadError";
  }
}

/** A positional write that wrote nothing: looping again would spin forever. */
export class NoProgressError extends Error {
  readonly code = "no_progress";
  constructor(
    readonly path: string,
    readonly position: number,
  ) {
    super(`${path}: a write at ${position} wrote 0 bytes`);
    this.name = "NoProgressError";
  }
}

/** The facade gave up on a span after its retries (the worker kept dying). */
export class IoRetriesExhaustedError extends Error {
  readonly code = "io_retries_exhausted";
  constructor(
    readonly what: string,
    readonly attempts: number,
    readonly lastError: unknown,
  ) {
    super(`${what}: gave up after ${attempts} attempts (last: ${lastError instanceof Error ? lastError.message : String(lastError)})`);
    this.name = "IoRetriesExhaustedError";
  }
}
