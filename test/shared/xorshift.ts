// A seeded xorshift32 generator for the fuzz tests: the same seed gives the same
// bytes on every run, so a failure can be replayed.

export class Xorshift32 {
  private state: number;

  constructor(seed: number) {
    // xorshift never leaves the all-zero state.
    this.state = seed >>> 0 || 0x9e3779b9;
  }

  /** A uint32. */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** An integer from 0 to `bound - 1`. */
  below(bound: number): number {
    return this.next() % bound;
  }

  /** An integer from `min` to `max`, both included. */
  between(min: number, max: number): number {
    return min + this.below(max - min + 1);
  }

  bytes(length: number): Buffer {
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) out[i] = this.next() & 0xff;
    return out;
  }
}
