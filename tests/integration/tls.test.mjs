// TLS to upstreams: certificates are verified (system trust store, or the
// bundle in SSL_CERT_FILE, which OpenSSL honours), the host name is checked,
// and SNI carries the api_base host.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { startGateway, randomToken, installExitGuard } from './lib/gateway.mjs';
import { post } from './lib/http.mjs';

installExitGuard();

const T = { timeout: 15_000 };

function openssl(args, cwd) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

// A throwaway CA and two server certificates it signed: one for `localhost`
// (DNS and IP SANs), one for a name nobody connects to.
function makeCertificates(dir) {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Switchyard Test CA',
    '-keyout', 'ca.key', '-out', 'ca.pem'], dir);
  const issue = (name, san) => {
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${san.split(',')[0].split(':')[1]}`,
      '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
    fs.writeFileSync(path.join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`], dir);
    return { key: fs.readFileSync(path.join(dir, `${name}.key`)), cert: fs.readFileSync(path.join(dir, `${name}.pem`)) };
  };
  return {
    ca: path.join(dir, 'ca.pem'),
    good: issue('good', 'DNS:localhost,IP:127.0.0.1'),
    wrong: issue('wrong', 'DNS:not-this-host.example'),
  };
}

function startHttpsUpstream({ key, cert }) {
  const seen = [];
  const server = https.createServer({ key, cert }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ servername: req.socket.servername, host: req.headers.host, path: req.url, body });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({
        id: 'chatcmpl-tls', object: 'chat.completion', created: 1, model: 'tls-model',
        choices: [{ index: 0, message: { role: 'assistant', content: 'over tls' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, seen }));
  });
}

describe('TLS upstream', () => {
  let dir;
  let certs;
  let upstream;
  let wrongUpstream;
  let configFile;
  const gateways = [];
  const masterKey = randomToken('sk-master');

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchyard-tls-'));
    certs = makeCertificates(dir);
    upstream = await startHttpsUpstream(certs.good);
    wrongUpstream = await startHttpsUpstream(certs.wrong);
    configFile = path.join(dir, 'config.yaml');
    fs.writeFileSync(configFile, `
model_list:
  - model_name: tls-by-name
    litellm_params:
      model: openai/tls-model
      api_base: https://localhost:${upstream.port}/v1
      api_key: sk-upstream
      timeout: 5
  - model_name: tls-by-ip
    litellm_params:
      model: openai/tls-model
      api_base: https://127.0.0.1:${upstream.port}/v1
      timeout: 5
  - model_name: tls-wrong-name
    litellm_params:
      model: openai/tls-model
      api_base: https://localhost:${wrongUpstream.port}/v1
      timeout: 5
general_settings:
  master_key: ${masterKey}
`);
  });

  after(async () => {
    for (const gw of gateways) await gw.stop?.();
    upstream?.server.close();
    wrongUpstream?.server.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function gateway(env) {
    const gw = await startGateway({ config: configFile, env });
    gateways.push(gw);
    return gw;
  }

  const chat = (gw, model) =>
    post(gw.baseUrl, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }] }, {
      headers: { authorization: `Bearer ${masterKey}` },
    });

  it('a certificate from a trusted CA is accepted, with SNI set to the api_base host', T, async () => {
    const gw = await gateway({ SSL_CERT_FILE: certs.ca });
    const res = await chat(gw, 'tls-by-name');
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.choices[0].message.content, 'over tls');
    const last = upstream.seen.at(-1);
    assert.equal(last.servername, 'localhost');
    assert.equal(last.host, `localhost:${upstream.port}`, 'Host carries a non-default port');
    assert.equal(last.path, '/v1/chat/completions');
    assert.equal(JSON.parse(last.body).model, 'tls-model');
  });

  it('an IP-literal api_base is verified against the IP SAN (no SNI sent)', T, async () => {
    const gw = await gateway({ SSL_CERT_FILE: certs.ca });
    const res = await chat(gw, 'tls-by-ip');
    assert.equal(res.status, 200, res.text);
    assert.ok(!upstream.seen.at(-1).servername, 'SNI must not carry an IP address');
  });

  it('a certificate whose name does not match the host is refused (502)', T, async () => {
    const gw = await gateway({ SSL_CERT_FILE: certs.ca });
    const res = await chat(gw, 'tls-wrong-name');
    assert.equal(res.status, 502, res.text);
    assert.equal(res.json.error.code, 'upstream_unreachable');
    assert.equal(wrongUpstream.seen.length, 0, 'no request may reach an unverified upstream');
  });

  it('a certificate from an unknown CA is refused (502)', T, async () => {
    const gw = await gateway({ SSL_CERT_FILE: '/nonexistent-ca-bundle.pem' });
    const before = upstream.seen.length;
    const res = await chat(gw, 'tls-by-name');
    assert.equal(res.status, 502, res.text);
    assert.equal(res.json.error.type, 'upstream_error');
    assert.equal(upstream.seen.length, before);
  });
});
