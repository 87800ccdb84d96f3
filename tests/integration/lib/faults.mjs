// Scripted upstream faults shared by every fake provider (fake_upstream.mjs,
// fake_anthropic.mjs, fake_bedrock.mjs), so the fault matrix runs the same
// cases against each provider family.
//
// A fake picks the fault from the model its request names (the body's
// `model`, or the model id in a Bedrock path) and calls runFault(). What is
// family-specific (the shape of an error body, of a good answer, of the first
// stream events) comes from the fake's adapter:
//
//   errorReply(kind, message, retryAfter) -> {status, headers, body}
//       kind: 'ratelimit' | 'error500' | 'error503'
//   okReply(record) -> {headers, body}        a complete, valid non-stream answer
//   streamHeaders                             head of a 200 stream answer
//   streamPrefix(record, pieces) -> [chunk]   the stream up to and including a
//                                             content event per piece
//
// Faults (model names):
//   ratelimit          429 + retry-after: 7
//   ratelimit-short    429 + retry-after: 1
//   error500 / error503
//   reset              destroys the socket before any answer
//   reset-mid-body     200 head with the full content-length, half the body, then a reset
//   hang               never answers (timeout before the first byte)
//   midstream-drop     200 stream: the start and two content events, then a reset
//   garbage            200 application/json whose body is not JSON
//   wrong-content-type 200 text/html login page (what a captive proxy answers)

export const RATELIMIT_MESSAGE = 'Fake upstream rate limit reached for requests';
export const ERROR500_MESSAGE = 'Fake upstream internal server error';
export const ERROR503_MESSAGE = 'Fake upstream overloaded';
export const GARBAGE_BODY = '<html>this is definitely not json';
export const WRONG_CONTENT_TYPE_BODY = '<!doctype html><title>Sign in</title><p>Proxy login required</p>';
export const MIDSTREAM_DROP_PIECES = ['partial', ' answer'];
export const RETRY_AFTER = { ratelimit: '7', 'ratelimit-short': '1' };

export const FAULTS = Object.freeze([
  'ratelimit',
  'ratelimit-short',
  'error500',
  'error503',
  'reset',
  'reset-mid-body',
  'hang',
  'midstream-drop',
  'garbage',
  'wrong-content-type',
]);

function send(res, status, headers, body) {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  res.writeHead(status, { ...headers, 'content-length': bytes.length });
  res.end(bytes);
}

function destroyLater(res, later) {
  // Give the bytes already written a moment to leave, then cut the connection.
  later(100, () => res.socket && res.socket.destroy());
}

const defaultLater = (ms, fn) => setTimeout(fn, ms);

/**
 * Answers `res` with fault `name` if it is one; returns false otherwise (the
 * fake then answers normally). `record` is the fake's record of the request.
 */
export function runFault(name, { req, res, record, adapter, later = defaultLater }) {
  switch (name) {
    case 'ratelimit':
    case 'ratelimit-short': {
      const r = adapter.errorReply('ratelimit', RATELIMIT_MESSAGE, RETRY_AFTER[name]);
      send(res, r.status, r.headers, r.body);
      return true;
    }
    case 'error500': {
      const r = adapter.errorReply('error500', ERROR500_MESSAGE);
      send(res, r.status, r.headers, r.body);
      return true;
    }
    case 'error503': {
      const r = adapter.errorReply('error503', ERROR503_MESSAGE);
      send(res, r.status, r.headers, r.body);
      return true;
    }
    case 'reset':
      req.socket.destroy();
      return true;
    case 'reset-mid-body': {
      const { headers, body } = adapter.okReply(record);
      const bytes = Buffer.from(body, 'utf8');
      res.writeHead(200, { ...headers, 'content-length': bytes.length });
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)));
      destroyLater(res, later);
      return true;
    }
    case 'hang':
      return true; // cleaned up when either side closes
    case 'midstream-drop': {
      res.writeHead(200, adapter.streamHeaders);
      if (res.socket) res.socket.setNoDelay(true);
      for (const chunk of adapter.streamPrefix(record, MIDSTREAM_DROP_PIECES)) res.write(chunk);
      destroyLater(res, later);
      return true;
    }
    case 'garbage':
      send(res, 200, { 'content-type': 'application/json' }, GARBAGE_BODY);
      return true;
    case 'wrong-content-type':
      send(res, 200, { 'content-type': 'text/html; charset=utf-8' }, WRONG_CONTENT_TYPE_BODY);
      return true;
    default:
      return false;
  }
}
