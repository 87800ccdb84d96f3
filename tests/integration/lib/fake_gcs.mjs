// A STAND-IN for Google Cloud Storage and Google's OAuth 2.0 token endpoint,
// written for these tests. It is not Google and not an official emulator; it
// implements only what the gateway uses, following Google's documented
// formats:
//
//   POST /token   the service-account JWT-bearer grant. It verifies the
//                 assertion the way Google documents it: RS256 signature
//                 checked with the PUBLIC key of the service account (the
//                 test generates the key pair and writes the JSON key file),
//                 "kid" = private_key_id, iss = client_email, aud = this
//                 token_uri, a devstorage scope, iat close to now,
//                 exp = iat + 3600 at most. It answers
//                 {"access_token","expires_in","token_type":"Bearer"} with a
//                 lifetime the test picks (short, to force refreshes), or
//                 {"error":"invalid_grant",...} with HTTP 400.
//   GET /{bucket}/{object}   the XML API object download. Only with
//                 `Authorization: Bearer <token it issued, not expired>`
//                 (else 401 with an XML <Error>), unless started with
//                 `auth: false` (how fake-gcs-server and the real emulator
//                 behave). ETag = quoted MD5 of the bytes, x-goog-generation
//                 increases with every put, If-None-Match -> 304.
//
// stop() and start() keep the port and the objects.

import http from 'node:http';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { freePort } from './s3.mjs';

export const READ_ONLY_SCOPE = 'https://www.googleapis.com/auth/devstorage.read_only';

function xmlError(res, status, code, message) {
  res.writeHead(status, { 'content-type': 'application/xml; charset=UTF-8' });
  res.end(`<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

function jsonAnswer(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

/**
 * startFakeGcs({ account: {client_email, private_key_id, publicKeyPem},
 *                tokenLifetimeS = 3600, auth = true })
 * Returns { endpoint, tokenUri, put(bucket, key, text) -> {etag, generation},
 * tokens (every token issued: {token, issuedAt, expiresAt}), rejectedGrants
 * ([reason]), objectRequests ([{status, token}]), stop(), start() }.
 */
export async function startFakeGcs({ account, tokenLifetimeS = 3600, auth = true } = {}) {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const tokenUri = `${endpoint}/token`;
  const objects = new Map(); // "bucket/key" -> {body, etag, generation}
  let generation = 1_700_000_000_000_000;
  const tokens = new Map(); // token -> expiresAt (ms)
  const fake = {
    endpoint,
    tokenUri,
    port,
    tokenLifetimeS,
    tokens: [],
    rejectedGrants: [],
    objectRequests: [],
    put(bucket, key, text) {
      const body = Buffer.from(text);
      generation += 1;
      const entry = { body, etag: `"${createHash('md5').update(body).digest('hex')}"`, generation: String(generation) };
      objects.set(`${bucket}/${key}`, entry);
      return { etag: entry.etag, generation: entry.generation };
    },
  };

  function grantError(res, reason) {
    fake.rejectedGrants.push(reason);
    jsonAnswer(res, 400, { error: 'invalid_grant', error_description: reason });
  }

  function handleToken(req, res, body) {
    const form = new URLSearchParams(body);
    if (req.headers['content-type'] !== 'application/x-www-form-urlencoded') return grantError(res, 'form body expected');
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
      return jsonAnswer(res, 400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' });
    }
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return grantError(res, 'Invalid JWT: not three parts');
    let header;
    let claims;
    try {
      header = b64urlJson(parts[0]);
      claims = b64urlJson(parts[1]);
    } catch {
      return grantError(res, 'Invalid JWT: undecodable');
    }
    if (header.alg !== 'RS256' || header.typ !== 'JWT') return grantError(res, 'Invalid JWT: alg must be RS256');
    if (!account || header.kid !== account.private_key_id) return grantError(res, 'Invalid JWT: unknown kid');
    const signatureOk = verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      createPublicKey(account.publicKeyPem),
      Buffer.from(parts[2], 'base64url'),
    );
    if (!signatureOk) return grantError(res, 'Invalid JWT Signature.');
    const now = Math.floor(Date.now() / 1000);
    if (claims.iss !== account.client_email) return grantError(res, 'Invalid JWT: iss is not the service account');
    if (claims.aud !== tokenUri) return grantError(res, 'Invalid JWT: aud is not the token URI');
    if (typeof claims.scope !== 'string' || !claims.scope.split(' ').some((s) => s.startsWith('https://www.googleapis.com/auth/devstorage.'))) {
      return grantError(res, 'Invalid JWT: no storage scope');
    }
    if (!Number.isInteger(claims.iat) || Math.abs(claims.iat - now) > 60) return grantError(res, 'Invalid JWT: iat is not now');
    if (!Number.isInteger(claims.exp) || claims.exp <= now || claims.exp - claims.iat > 3600) {
      return grantError(res, 'Invalid JWT: Token must be a short-lived token (60 minutes)');
    }
    const token = `ya29.fake-${randomBytes(16).toString('hex')}`;
    const issuedAt = Date.now();
    const expiresAt = issuedAt + fake.tokenLifetimeS * 1000;
    tokens.set(token, expiresAt);
    fake.tokens.push({ token, issuedAt, expiresAt, scope: claims.scope });
    jsonAnswer(res, 200, { access_token: token, expires_in: fake.tokenLifetimeS, token_type: 'Bearer' });
  }

  function handleObject(req, res) {
    const url = new URL(req.url, endpoint);
    const path = url.pathname.slice(1);
    const slash = path.indexOf('/');
    if (slash <= 0) return xmlError(res, 400, 'InvalidURI', 'bucket and object expected');
    const bucket = decodeURIComponent(path.slice(0, slash));
    const key = decodeURIComponent(path.slice(slash + 1));
    const authz = req.headers.authorization ?? '';
    const token = authz.startsWith('Bearer ') ? authz.slice(7) : '';
    const record = (status) => fake.objectRequests.push({ status, token, at: Date.now() });
    if (auth) {
      const expiresAt = tokens.get(token);
      if (!token || expiresAt === undefined) {
        record(401);
        return xmlError(res, 401, 'AuthenticationRequired', 'Authentication required.');
      }
      if (Date.now() >= expiresAt) {
        record(401);
        return xmlError(res, 401, 'AuthenticationRequired', 'Invalid Credentials (token expired).');
      }
    }
    const entry = objects.get(`${bucket}/${key}`);
    if (!entry) {
      record(404);
      return xmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
    const headers = { etag: entry.etag, 'x-goog-generation': entry.generation, 'x-goog-metageneration': '1' };
    if (req.headers['if-none-match'] === entry.etag) {
      record(304);
      res.writeHead(304, headers);
      return res.end();
    }
    record(200);
    res.writeHead(200, { ...headers, 'content-type': 'application/octet-stream', 'content-length': entry.body.length });
    res.end(entry.body);
  }

  let server = null;
  const sockets = new Set();
  fake.start = () =>
    new Promise((resolve, reject) => {
      server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          if (req.method === 'POST' && new URL(req.url, endpoint).pathname === '/token') return handleToken(req, res, body);
          if (req.method === 'GET') return handleObject(req, res);
          return xmlError(res, 405, 'MethodNotAllowed', 'not supported by the stand-in');
        });
      });
      server.on('connection', (s) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
  fake.stop = () =>
    new Promise((resolve) => {
      if (!server) return resolve();
      const s = server;
      server = null;
      for (const sock of sockets) sock.destroy();
      s.close(() => resolve());
    });
  await fake.start();
  return fake;
}
