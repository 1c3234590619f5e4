/**
 * The have-after-write audit (invariant 1: a piece is marked have only after its SHA-1
 * matched and its write returned). piece_mgr calls `audit` at the exact moment it is about
 * to mark a piece have; the auditor reads the piece back from the files with blocking reads
 * (in that same turn, so nothing can land in between) and checks its hash. A piece marked
 * before its bytes reached the file (page cache included) reads back wrong and is recorded.
 *
 * Cost: one synchronous read and SHA-1 per piece on the piece manager's turn (~1 ms per MiB
 * from the page cache). It is off by default and on in swarm runs, where the point is to
 * check, not to be fast.
 */
import type { PieceAudit } from "../../actors/pieceMgr.js";
import { filePieceHasher, filePieceTask } from "../storage/filePiece.js";
import type { AuditResult } from "./messages.js";

const KEPT_MISMATCHES = 64;

export class PieceAuditor {
  private checked = 0;
  private mismatchCount = 0;
  private readonly mismatches: number[] = [];
  private readonly hash = filePieceHasher();

  readonly audit: PieceAudit = (state, piece) => {
    this.checked++;
    const [result] = this.hash([filePieceTask(state.meta, state.paths, piece)]);
    const expected = state.meta.pieceHashes.subarray(piece * 20, piece * 20 + 20);
    if (result?.kind === "hashed" && result.digest.equals(expected)) return;
    this.mismatchCount++;
    if (this.mismatches.length < KEPT_MISMATCHES) this.mismatches.push(piece);
  };

  result(): AuditResult {
    return { checked: this.checked, mismatches: [...this.mismatches], mismatchCount: this.mismatchCount };
  }
}
