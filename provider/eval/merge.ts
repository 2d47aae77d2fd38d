/**
 * Merges the result files of a run's shards into one file, as if one job had written it (BatchRun): the files
 * concatenated in shard order, streaming (flat memory), each ending with a newline, written to `<target>.part` and
 * renamed when complete.
 */
import * as fs from "node:fs";
import { pipeline } from "node:stream/promises";

/** What a merge wrote: the files it read and the lines it wrote (0 files: nothing written, `target` removed). */
export interface Merged {
  files: number;
  lines: number;
}

/** Concatenates the files given (null: a shard without such a file) into `target`. */
export async function mergeResultFiles(files: readonly (string | null | undefined)[], target: string): Promise<Merged> {
  const present = files.filter((f): f is string => typeof f === "string");
  if (present.length === 0) {
    fs.rmSync(target, { force: true });
    return { files: 0, lines: 0 };
  }
  const part = `${target}.part`;
  const out = fs.createWriteStream(part);
  let lines = 0;
  try {
    for (const file of present) {
      let last = 0x0a;
      await pipeline(
        fs.createReadStream(file),
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
            if (chunk.length) last = chunk[chunk.length - 1] ?? last;
            yield chunk;
          }
          if (last !== 0x0a) {
            lines++;
            yield Buffer.from("\n");
          }
        },
        out,
        { end: false },
      );
    }
  } catch (error) {
    out.destroy();
    fs.rmSync(part, { force: true });
    throw new Error(`could not merge the result files into ${target}: ${(error as Error).message}`, { cause: error });
  }
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  fs.renameSync(part, target);
  return { files: present.length, lines };
}
