// Bedrock credentials from the standard AWS chain, for deployments with no
// keys in the config: a shared credentials file profile, container
// credentials (ECS / EKS Pod Identity) and EC2 IMDSv2, the last two fetched
// by the gateway in the background and refreshed before they expire.
// The fake Bedrock recomputes every SigV4 signature with the secret of the
// access key it was signed with, so a request signed with anything but the
// current credentials fails.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startFakeBedrock, BEDROCK_TEXT } from './fake_bedrock.mjs';
import { startFakeMetadata, ROLE } from './fake_aws_metadata.mjs';
import { startGateway, configPath, randomToken, installExitGuard } from './lib/gateway.mjs';
import { post } from './lib/http.mjs';

installExitGuard();

const T = { timeout: 20_000 };

describe('bedrock credentials chain', () => {
  const masterKey = randomToken('sk-master');
  const auth = { authorization: `Bearer ${masterKey}` };
  const keys = {};
  let bedrock;
  let home;
  let gw;

  before(async () => {
    bedrock = await startFakeBedrock({ accessKeyId: 'unused', secretAccessKey: 'unused', region: 'us-east-1', keys });
    home = mkdtempSync(path.join(tmpdir(), 'switchyard-aws-home-'));
  });
  after(async () => {
    await gw?.stop();
    await bedrock?.close();
    rmSync(home, { recursive: true, force: true });
  });

  // No AWS_* from the test's own environment: only what each case sets.
  const chainEnv = (extra) => ({
    TEST_MASTER_KEY: masterKey,
    FAKE_BEDROCK_BASE: bedrock.baseUrl,
    HOME: home,
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_SHARED_CREDENTIALS_FILE: '',
    AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
    AWS_CONTAINER_AUTHORIZATION_TOKEN: '',
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '',
    AWS_EC2_METADATA_SERVICE_ENDPOINT: '',
    AWS_EC2_METADATA_DISABLED: '',
    ...extra,
  });
  const restart = async (env) => {
    await gw?.stop();
    gw = await startGateway({ config: configPath('bedrock_credentials.yaml'), env: chainEnv(env) });
  };
  const chat = (model, nonce) =>
    post(gw.baseUrl, '/v1/chat/completions', { model, messages: [{ role: 'user', content: nonce }] }, { headers: auth });
  // The request Bedrock received for `nonce`, with the key it was signed with.
  const upstream = (nonce) => {
    const found = bedrock.find(nonce);
    assert.equal(found.length, 1, `one upstream call for ${nonce}`);
    const [r] = found;
    r.accessKeyId = /Credential=([^/]+)\//.exec(r.headers.authorization)?.[1];
    return r;
  };
  // A request to the keyless deployment reached Bedrock signed with these credentials.
  const assertSignedWith = async (prefix, { AccessKeyId, Token }) => {
    const nonce = randomToken(prefix);
    const res = await chat('claude-haiku', nonce);
    assert.equal(res.status, 200, res.text);
    const up = upstream(nonce);
    assert.equal(up.signatureProblem, null);
    assert.equal(up.accessKeyId, AccessKeyId);
    assert.equal(up.headers['x-amz-security-token'], Token);
  };
  const fetchedLines = () => gw.stderrLines.filter((l) => l.includes('"aws credentials fetched"')).length;

  it('a profile of the shared credentials file (AWS_PROFILE, then aws_profile_name)', T, async () => {
    const file = path.join(home, 'credentials');
    keys.AKIDWORKPROFILE = randomToken('work-secret');
    keys.AKIDOTHERPROFILE = randomToken('other-secret');
    writeFileSync(
      file,
      [
        '[default]',
        'aws_access_key_id = AKIDNOTUSED',
        'aws_secret_access_key = not-used',
        '[work]',
        'aws_access_key_id = AKIDWORKPROFILE',
        `aws_secret_access_key = ${keys.AKIDWORKPROFILE}`,
        'aws_session_token = work-session',
        '[other]',
        'aws_access_key_id = AKIDOTHERPROFILE',
        `aws_secret_access_key = ${keys.AKIDOTHERPROFILE}`,
        '',
      ].join('\n'),
    );
    await restart({ AWS_SHARED_CREDENTIALS_FILE: file, AWS_PROFILE: 'work', AWS_EC2_METADATA_DISABLED: 'true' });
    const nonce = randomToken('profile');
    const res = await chat('claude-haiku', nonce);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.choices[0].message.content, BEDROCK_TEXT);
    const up = upstream(nonce);
    assert.equal(up.signatureProblem, null);
    assert.equal(up.accessKeyId, 'AKIDWORKPROFILE');
    assert.equal(up.headers['x-amz-security-token'], 'work-session');

    const nonce2 = randomToken('profile-named');
    const res2 = await chat('claude-profiled', nonce2);
    assert.equal(res2.status, 200, res2.text);
    assert.equal(upstream(nonce2).accessKeyId, 'AKIDOTHERPROFILE');
    assert.ok(!gw.allOutput().includes(keys.AKIDWORKPROFILE), 'secrets never reach the logs');
  });

  it('EC2 IMDSv2: fetched in the background, refreshed before expiry, never on the request path', T, async () => {
    const imds = await startFakeMetadata({ lifetimeMs: 4000, keys });
    try {
      await restart({ AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.base });
      await gw.waitFor(() => imds.issued.length >= 1 && fetchedLines() >= 1, 5000, 'the first IMDS credentials');
      const [first] = imds.issued;
      // IMDSv2: a session token first, then the role, then its credentials, all with the token.
      const [put, listRoles, getCreds] = imds.requests;
      assert.equal(put.method, 'PUT');
      assert.equal(put.path, '/latest/api/token');
      assert.equal(put.headers['x-aws-ec2-metadata-token-ttl-seconds'], '21600');
      assert.equal(listRoles.path, '/latest/meta-data/iam/security-credentials/');
      assert.equal(getCreds.path, `/latest/meta-data/iam/security-credentials/${ROLE}`);
      assert.ok(listRoles.headers['x-aws-ec2-metadata-token'] && getCreds.headers['x-aws-ec2-metadata-token']);

      const metadataCalls = imds.requests.length;
      for (let i = 0; i < 3; i++) await assertSignedWith('imds', first);
      assert.equal(imds.requests.length, metadataCalls, 'requests must not call the metadata service');

      // Half-way through the 4 s life the gateway fetches new credentials.
      await gw.waitFor(() => imds.issued.length >= 2, 5000, 'refreshed IMDS credentials');
      const second = imds.issued[1];
      assert.ok(second.issuedAt < first.expiresAt, `refreshed ${first.expiresAt - second.issuedAt} ms before expiry`);
      await gw.waitFor(() => fetchedLines() >= 2, 2000, 'the refresh to be installed');
      await assertSignedWith('imds-refreshed', second);
      const logs = gw.allOutput();
      assert.ok(!logs.includes(first.SecretAccessKey) && !logs.includes(first.Token), 'secrets never reach the logs');
    } finally {
      await gw.stop();
      await imds.close();
    }
  });

  it('container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI + token file)', T, async () => {
    const token = randomToken('pod-identity');
    const tokenFile = path.join(home, 'eks-pod-identity-token');
    writeFileSync(tokenFile, `${token}\n`);
    const meta = await startFakeMetadata({ containerToken: token, keys });
    try {
      await restart({
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${meta.base}/creds`,
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1', // must not be used
      });
      await gw.waitFor(() => fetchedLines() >= 1, 5000, 'container credentials');
      assert.equal(meta.requests.length, 1);
      assert.equal(meta.requests[0].headers.authorization, token);
      await assertSignedWith('container', meta.issued[0]);
    } finally {
      await gw.stop();
      await meta.close();
    }
  });

  it('no credentials yet: 503 that names the source and the cause, without calling Bedrock', T, async () => {
    await restart({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1' });
    await gw.waitFor(() => gw.stderrLines.some((l) => l.includes('"aws credentials fetch failed"')), 5000, 'the failed fetch');
    const nonce = randomToken('nocreds');
    const started = Date.now();
    const res = await chat('claude-haiku', nonce);
    assert.equal(res.status, 503, res.text);
    assert.equal(res.json.error.code, 'aws_credentials_unavailable');
    assert.equal(res.json.error.type, 'service_unavailable_error');
    assert.equal(res.json.error.message, 'no AWS credentials from imds: cannot connect to 127.0.0.1:1 (deployment bedrock-chain)');
    assert.ok(Date.now() - started < 1000, 'answered at once');
    assert.equal(bedrock.find(nonce).length, 0);
  });
});
