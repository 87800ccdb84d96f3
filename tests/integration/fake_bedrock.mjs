// A scripted fake of the Bedrock Runtime Converse API. It checks every
// request's SigV4 signature (recomputed here with node:crypto from the bytes
// it received) and answers Converse (JSON) or ConverseStream (the AWS
// event-stream binary framing, CRC32-checked).
//   model id containing "throttled" -> 429 ThrottlingException (x-amzn-ErrorType)
//   model id naming a fault of lib/faults.mjs (ratelimit, error500, error503,
//   reset, reset-mid-body, hang, midstream-drop, garbage, wrong-content-type)
//   -> that fault, in Bedrock's shapes

import http from 'node:http';
import { runFault } from './lib/faults.mjs';
import crypto from 'node:crypto';
import zlib from 'node:zlib';

export const BEDROCK_TEXT_PIECES = ['Hello', ' from', ' fake', ' Bedrock.'];
export const BEDROCK_TEXT = BEDROCK_TEXT_PIECES.join('');
export const BEDROCK_USAGE = { inputTokens: 12, outputTokens: 5, totalTokens: 17 };

const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();
const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const awsEncode = (s) =>
  Array.from(Buffer.from(s, 'utf8'))
    .map((b) => (/[A-Za-z0-9\-_.~]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');

// Recomputes the SigV4 signature of a received request; returns null when it
// matches, else a reason.
// `keys` (optional) maps more access key ids to their secrets, for
// credentials that rotate (IMDS, container); it may grow while running.
function checkSignature(req, rawBody, { accessKeyId, secretAccessKey, region, keys = {} }) {
  const auth = req.headers.authorization || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return `malformed authorization header: ${auth}`;
  const [, key, date, reg, service, signedHeaders, signature] = m;
  const secret = key === accessKeyId ? secretAccessKey : keys[key];
  if (secret === undefined) return 'unknown access key';
  if (reg !== region || service !== 'bedrock') return `wrong scope ${reg}/${service}`;
  const amzDate = req.headers['x-amz-date'];
  if (!amzDate?.startsWith(date)) return 'x-amz-date does not match the scope';
  const [path] = req.url.split('?');
  const canonicalUri = path.split('/').map(awsEncode).join('/');
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return 'host and x-amz-date must be signed';
  const canonicalHeaders = names.map((n) => `${n}:${String(req.headers[n] ?? '').trim()}\n`).join('');
  const canonical = ['POST', canonicalUri, '', canonicalHeaders, signedHeaders, sha256(rawBody)].join('\n');
  const scope = `${date}/${region}/bedrock/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let k = hmac(`AWS4${secret}`, date);
  k = hmac(k, region);
  k = hmac(k, 'bedrock');
  k = hmac(k, 'aws4_request');
  const expected = hmac(k, toSign).toString('hex');
  return expected === signature ? null : 'signature mismatch';
}

function frame(eventType, payload) {
  const headers = [[':event-type', eventType], [':content-type', 'application/json'], [':message-type', 'event']];
  const headerBytes = Buffer.concat(headers.map(([name, value]) => {
    const n = Buffer.from(name);
    const v = Buffer.from(value);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(v.length);
    return Buffer.concat([Buffer.from([n.length]), n, Buffer.from([7]), len, v]);
  }));
  const body = Buffer.from(JSON.stringify(payload));
  const total = 12 + headerBytes.length + body.length + 4;
  const prelude = Buffer.alloc(8);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(headerBytes.length, 4);
  const preludeCrc = Buffer.alloc(4);
  preludeCrc.writeUInt32BE(zlib.crc32(prelude));
  const withoutCrc = Buffer.concat([prelude, preludeCrc, headerBytes, body]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(withoutCrc));
  return Buffer.concat([withoutCrc, crc]);
}

function converseReply() {
  return {
    output: { message: { role: 'assistant', content: [{ text: BEDROCK_TEXT }] } },
    stopReason: 'end_turn',
    usage: BEDROCK_USAGE,
    metrics: { latencyMs: 42 },
  };
}

const AWS_ERRORS = {
  ratelimit: [429, 'ThrottlingException'],
  error500: [500, 'InternalServerException'],
  error503: [503, 'ServiceUnavailableException'],
};

// How Bedrock shapes what the shared faults send.
const adapter = {
  errorReply(kind, message, retryAfter) {
    const [status, type] = AWS_ERRORS[kind];
    const headers = { 'content-type': 'application/json', 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` };
    if (retryAfter) headers['retry-after'] = retryAfter;
    return { status, headers, body: JSON.stringify({ message }) };
  },
  okReply() {
    return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(converseReply()) };
  },
  streamHeaders: { 'content-type': 'application/vnd.amazon.eventstream' },
  streamPrefix(record, pieces) {
    return [
      frame('messageStart', { role: 'assistant' }),
      ...pieces.map((text) => frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text } })),
    ];
  },
};

export async function startFakeBedrock(credentials) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const signatureProblem = checkSignature(req, raw, credentials);
      let body = null;
      try {
        body = JSON.parse(raw);
      } catch {
        body = null;
      }
      const record = { path: req.url, headers: { ...req.headers }, body, raw, signatureProblem };
      requests.push(record);
      if (signatureProblem) {
        res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'InvalidSignatureException' });
        res.end(JSON.stringify({ message: `The request signature we calculated does not match: ${signatureProblem}` }));
        return;
      }
      const m = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(req.url);
      if (!m || !body) {
        res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'ValidationException' });
        res.end(JSON.stringify({ message: 'bad request' }));
        return;
      }
      const modelId = decodeURIComponent(m[1]);
      record.modelId = modelId;
      if (runFault(modelId, { req, res, record, adapter })) return;
      if (modelId.includes('throttled')) {
        res.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'ThrottlingException:http://internal' });
        res.end(JSON.stringify({ message: 'Too many requests, please wait before trying again.' }));
        return;
      }
      if (m[2] === 'converse') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(converseReply()));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream' });
      res.write(frame('messageStart', { role: 'assistant' }));
      for (const text of BEDROCK_TEXT_PIECES) {
        res.write(frame('contentBlockDelta', { contentBlockIndex: 0, delta: { text } }));
      }
      res.write(frame('contentBlockStop', { contentBlockIndex: 0 }));
      res.write(frame('messageStop', { stopReason: 'end_turn' }));
      res.end(frame('metadata', { usage: BEDROCK_USAGE, metrics: { latencyMs: 42 } }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${server.address().port}`,
    requests,
    find: (needle) => requests.filter((r) => r.raw.includes(needle)),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
