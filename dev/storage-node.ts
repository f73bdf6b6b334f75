// A Sync storage node stand-in: the tests' loopback storage node, which checks the Hawk header and the
// token of every request with the shared secret as syncstorage-rs does (and answers 401 otherwise).
// The stack prints one line per request and keeps them for the demo.
import { startStorageNode, type RecordedDelete } from "../test/support/storage-node.ts";

/** One request as the control API reports it (JSON-safe). */
export interface StorageRequest {
  method: string;
  path: string;
  uid: string | null;
  status: number;
  /** "ok", or why the Hawk header or its token was refused. */
  hawk: string;
  /** The uid inside the verified token. */
  tokenUid: string | null;
}

export interface StackStorageNode {
  url: string;
  secret: string;
  requests(): StorageRequest[];
  stop(): Promise<void>;
}

const summarize = (r: RecordedDelete): StorageRequest => ({
  method: r.method,
  path: r.path,
  uid: r.uid,
  status: r.status,
  hawk: r.hawk.ok ? "ok" : r.hawk.reason,
  tokenUid: r.token && r.token["uid"] !== undefined ? String(r.token["uid"]) : null,
});

export async function startStackStorageNode(secret: string, out: (line: string) => void): Promise<StackStorageNode> {
  const node = await startStorageNode(secret, { register: false });
  // The fixture records each request with requests.push after answering it; watching that push is how
  // the stack prints a line per request without changing the fixture.
  const record = node.requests.push.bind(node.requests);
  node.requests.push = (...items: RecordedDelete[]) => {
    for (const r of items) {
      const s = summarize(r);
      out(`[storage] ${s.method} ${s.path} → ${s.status} (Hawk ${s.hawk}${s.tokenUid ? `, token for uid ${s.tokenUid}` : ""})`);
    }
    return record(...items);
  };
  return {
    url: node.url,
    secret,
    requests: () => node.requests.map(summarize),
    stop: () => node.stop(),
  };
}
