// A fake of the two AWS credential endpoints a pod or an instance has:
//   EC2 instance metadata, IMDSv2: PUT /latest/api/token, then
//     GET /latest/meta-data/iam/security-credentials/[ROLE] with the token
//     (a GET without a valid token gets 401, as on an instance that requires v2)
//   container credentials (ECS task role, EKS Pod Identity): GET /creds with
//     `authorization: <token>`
// Every credential answer is a fresh key pair that lives `lifetimeMs`, so a
// test can see the gateway refresh before expiry. Issued keys are added to
// `keys` (pass the same object to startFakeBedrock so it accepts them).

import http from 'node:http';
import { randomBytes } from 'node:crypto';

export const ROLE = 'switchyard-test-role';

export async function startFakeMetadata({ lifetimeMs = 3_600_000, containerToken = null, keys = {} } = {}) {
  const requests = [];
  const issued = [];
  const tokens = new Set();
  const issue = () => {
    const now = Date.now();
    // Whole seconds, as AWS writes it, rounded down so it never outlives lifetimeMs.
    const expiresAt = Math.floor((now + lifetimeMs) / 1000) * 1000;
    const creds = {
      AccessKeyId: `ASIAFAKE${issued.length + 1}${randomBytes(4).toString('hex').toUpperCase()}`,
      SecretAccessKey: randomBytes(20).toString('base64'),
      Token: `session-${randomBytes(16).toString('hex')}`,
      Expiration: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    keys[creds.AccessKeyId] = creds.SecretAccessKey;
    issued.push({ ...creds, issuedAt: now, expiresAt });
    return creds;
  };
  const send = (res, status, body, type = 'text/plain') => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const record = { method: req.method, path: req.url, headers: { ...req.headers }, at: Date.now() };
      requests.push(record);
      if (req.method === 'PUT' && req.url === '/latest/api/token') {
        const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
        if (!(ttl >= 1 && ttl <= 21600)) return send(res, 400, 'bad ttl');
        const token = randomBytes(16).toString('hex');
        tokens.add(token);
        return send(res, 200, token);
      }
      if (req.url.startsWith('/latest/meta-data/iam/security-credentials/')) {
        if (req.method !== 'GET' || !tokens.has(req.headers['x-aws-ec2-metadata-token'])) return send(res, 401, '');
        const role = req.url.slice('/latest/meta-data/iam/security-credentials/'.length);
        if (role === '') return send(res, 200, ROLE);
        if (role !== ROLE) return send(res, 404, '');
        return send(res, 200, JSON.stringify({ Code: 'Success', Type: 'AWS-HMAC', ...issue() }), 'application/json');
      }
      if (req.method === 'GET' && req.url === '/creds') {
        if (containerToken !== null && req.headers.authorization !== containerToken) return send(res, 403, '');
        return send(res, 200, JSON.stringify(issue()), 'application/json');
      }
      return send(res, 404, '');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    requests,
    issued,
    keys,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
