import { describe, expect, it } from "vitest";
import { DEFAULT_UPLOAD_QUEUE_BOUND } from "../../actors/peer/pipeline.js";
import { RequestSet, UploadQueue } from "../../actors/peer/requests.js";

const PL = 32 * 1024;

describe("RequestSet", () => {
  it("finds a request by (index, begin) and tells its length", () => {
    const s = new RequestSet(PL);
    expect(s.add(3, 16384, 16384)).toBe(true);
    expect(s.lengthAt(3, 16384)).toBe(16384);
    expect(s.lengthAt(3, 0)).toBeUndefined();
    expect(s.lengthAt(4, 16384 - PL)).toBe(16384); // same torrent offset: callers check spans first
    expect(s.size).toBe(1);
  });

  it("holds one request per (index, begin): a second add changes nothing", () => {
    const s = new RequestSet(PL);
    s.add(0, 0, 100);
    expect(s.add(0, 0, 200)).toBe(false);
    expect(s.lengthAt(0, 0)).toBe(100);
  });

  it("deletes only the exact request", () => {
    const s = new RequestSet(PL);
    s.add(1, 0, 100);
    expect(s.delete(1, 0, 99)).toBe(false);
    expect(s.delete(1, 1, 100)).toBe(false);
    expect(s.delete(1, 0, 100)).toBe(true);
    expect(s.size).toBe(0);
  });

  it("is a FIFO: shift and list go oldest first and recover index and begin", () => {
    const s = new RequestSet(PL);
    s.add(7, 16384, 10);
    s.add(0, 0, 20);
    s.add(2, 100, 30);
    expect(s.list()).toEqual([
      { piece: 7, begin: 16384, length: 10 },
      { piece: 0, begin: 0, length: 20 },
      { piece: 2, begin: 100, length: 30 },
    ]);
    expect(s.shift()).toEqual({ piece: 7, begin: 16384, length: 10 });
    expect(s.size).toBe(2);
    s.clear();
    expect(s.shift()).toBeUndefined();
  });

  it("refuses a piece length that is not a positive integer", () => {
    expect(() => new RequestSet(0)).toThrow(RangeError);
    expect(() => new RequestSet(1.5)).toThrow(RangeError);
  });
});

describe("UploadQueue", () => {
  it("is bounded by what we advertise as reqq", () => {
    expect(new UploadQueue(PL).bound).toBe(DEFAULT_UPLOAD_QUEUE_BOUND);
    expect(DEFAULT_UPLOAD_QUEUE_BOUND).toBe(250);
  });

  it("throws when asked to hold more than its bound (the analyzer refuses first)", () => {
    const q = new UploadQueue(PL, 2);
    q.add(0, 0, 1);
    q.add(0, 1, 1);
    expect(q.add(0, 0, 1)).toBe(false); // a duplicate is not growth
    expect(() => q.add(0, 2, 1)).toThrow(/full/);
    expect(q.size).toBe(2);
    expect(() => new UploadQueue(PL, 0)).toThrow(RangeError);
  });
});
