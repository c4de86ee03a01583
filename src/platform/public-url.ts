// Links in emails and responses point at the public address clients use (PUBLIC_URL), never at
// the address a request happened to arrive on (a Host header is the client's to choose).

/** `path` (starting with '/') under PUBLIC_URL. */
export function publicUrl (config: { publicUrl: string }, path: string): string {
  return `${config.publicUrl}${path}`
}
