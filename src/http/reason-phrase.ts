// The reason phrases our HTTP answers and request logs carry (the `error` field of a JSON error body,
// `status_msg` in the request log): the statuses the services answer with, spelled as the originals did.
const REASON: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
};

export function reasonPhrase(status: number): string {
  return REASON[status] ?? "Error";
}
