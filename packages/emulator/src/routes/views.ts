/**
 * The wire form of a file record, as the Files API shows it.
 */
import type { FileRecord } from "../store";

export function fileView(f: FileRecord) {
  return {
    id: f.id,
    object: "file",
    bytes: f.bytes,
    created_at: f.created_at,
    filename: f.filename,
    purpose: f.purpose,
    sample_type: f.sample_type,
    source: f.source,
    num_lines: f.num_lines,
    mimetype: f.mimetype,
    signature: f.signature,
    expires_at: f.expires_at,
    visibility: f.visibility,
  };
}
