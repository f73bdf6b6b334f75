// Reads a body up to a byte limit. A request whose declared Content-Length is over the limit is refused
// before reading; a chunked body is counted as it arrives and abandoned once it goes over. An answer
// read elsewhere (a webhook's) is cut at the limit instead.

/** The body's bytes, or undefined when it is larger than `maxBytes`. */
export async function readBodyWithin(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) return undefined;
  if (request.body === null) return new Uint8Array(0);
  if (declared !== null) {
    // The server enforces the declared length, so reading it whole is safe.
    const bytes = new Uint8Array(await request.arrayBuffer());
    return bytes.length > maxBytes ? undefined : bytes;
  }
  const { bytes, cut } = await readUpTo(request.body, maxBytes);
  return cut ? undefined : bytes;
}

/** Up to `maxBytes` of a stream, and whether more followed (the rest is not read: the stream is cancelled). */
export async function readUpTo(stream: ReadableStream<Uint8Array>, maxBytes: number): Promise<{ bytes: Uint8Array; cut: boolean }> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let cut = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = maxBytes - total;
    if (value.length > room) {
      if (room > 0) chunks.push(value.subarray(0, room));
      total = maxBytes;
      cut = true;
      await reader.cancel();
      break;
    }
    chunks.push(value);
    total += value.length;
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return { bytes, cut };
}
