/** Hands `data` to `push` in chunks of 1..maxChunk bytes, sizes from a seeded generator (the same every run). */
export function pushInChunks(data: Buffer, maxChunk: number, push: (chunk: Buffer) => void, seed = 1): void {
  let x = seed;
  for (let i = 0; i < data.length; ) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const n = 1 + (x % maxChunk);
    push(data.subarray(i, i + n));
    i += n;
  }
}
