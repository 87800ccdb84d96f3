// A scripted fake of the Anthropic Messages API (POST /v1/messages), for
// testing the anthropic/ provider. Behaviour is chosen by the `model` field:
//   claude-normal     text answer (streamed when stream: true)
//   claude-tools      a tool_use answer (streamed with input_json_delta)
//   claude-overloaded 529 overloaded_error
//   claude-cutoff     a stream that ends (cleanly, at the HTTP level) before message_stop
//   the faults of lib/faults.mjs (ratelimit, error500, error503, reset,
//   reset-mid-body, hang, midstream-drop, garbage, wrong-content-type), in
//   Anthropic's shapes
// Every request is recorded (headers, parsed body).

import http from 'node:http';
import { runFault } from './lib/faults.mjs';

export const CLAUDE_TEXT_PIECES = ['Hello', ' from', ' fake', ' Claude.'];
export const CLAUDE_TEXT = CLAUDE_TEXT_PIECES.join('');
export const CLAUDE_USAGE = { input_tokens: 21, output_tokens: 9 };

const sseText = (event, data) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

function sse(res, event, data) {
  res.write(sseText(event, data));
}

const anthropicError = (type, message) => JSON.stringify({ type: 'error', error: { type, message } });

function messageStart(id, model) {
  return {
    type: 'message_start',
    message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null,
      stop_sequence: null, usage: { input_tokens: CLAUDE_USAGE.input_tokens, output_tokens: 1 } },
  };
}

// How the Anthropic API shapes what the shared faults send.
const adapter = {
  errorReply(kind, message, retryAfter) {
    if (kind === 'ratelimit') {
      return { status: 429, headers: { 'content-type': 'application/json', 'retry-after': retryAfter },
        body: anthropicError('rate_limit_error', message) };
    }
    if (kind === 'error503') {
      return { status: 503, headers: { 'content-type': 'application/json' }, body: anthropicError('overloaded_error', message) };
    }
    return { status: 500, headers: { 'content-type': 'application/json' }, body: anthropicError('api_error', message) };
  },
  okReply(record) {
    return { headers: { 'content-type': 'application/json' }, body: JSON.stringify({
      id: 'msg_fake_ok', type: 'message', role: 'assistant', model: record.body?.model, content: [{ type: 'text', text: CLAUDE_TEXT }],
      stop_reason: 'end_turn', stop_sequence: null, usage: CLAUDE_USAGE,
    }) };
  },
  streamHeaders: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
  streamPrefix(record, pieces) {
    return [
      sseText('message_start', messageStart('msg_fake_drop', record.body?.model)),
      sseText('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
      ...pieces.map((text) => sseText('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
    ];
  },
};

export async function startFakeAnthropic() {
  const requests = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body = null;
      try {
        body = JSON.parse(raw);
      } catch {
        body = null;
      }
      const record = { path: req.url, headers: { ...req.headers }, body, raw };
      requests.push(record);
      if (req.url !== '/v1/messages' || !body) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'bad request' } }));
        return;
      }
      if (runFault(body.model, { req, res, record, adapter })) return;
      const id = `msg_fake_${requests.length}`;
      if (body.model === 'claude-overloaded') {
        res.writeHead(529, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }));
        return;
      }
      const tools = body.model === 'claude-tools';
      if (!body.stream) {
        const content = tools
          ? [{ type: 'tool_use', id: 'toolu_fake_1', name: 'get_weather', input: { city: 'Paris' } }]
          : [{ type: 'text', text: CLAUDE_TEXT }];
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({
          id, type: 'message', role: 'assistant', model: body.model, content,
          stop_reason: tools ? 'tool_use' : 'end_turn', stop_sequence: null, usage: CLAUDE_USAGE,
        }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      sse(res, 'message_start', messageStart(id, body.model));
      if (tools) {
        sse(res, 'content_block_start', { type: 'content_block_start', index: 0,
          content_block: { type: 'tool_use', id: 'toolu_fake_1', name: 'get_weather', input: {} } });
        for (const part of ['{"city":', ' "Paris"}']) {
          sse(res, 'content_block_delta', { type: 'content_block_delta', index: 0,
            delta: { type: 'input_json_delta', partial_json: part } });
        }
      } else {
        sse(res, 'content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
        sse(res, 'ping', { type: 'ping' });
        for (const piece of CLAUDE_TEXT_PIECES) {
          sse(res, 'content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: piece } });
        }
      }
      if (body.model === 'claude-cutoff') {
        res.end(); // a clean HTTP end, but no content_block_stop / message_stop
        return;
      }
      sse(res, 'content_block_stop', { type: 'content_block_stop', index: 0 });
      sse(res, 'message_delta', { type: 'message_delta',
        delta: { stop_reason: tools ? 'tool_use' : 'end_turn', stop_sequence: null },
        usage: { output_tokens: CLAUDE_USAGE.output_tokens } });
      sse(res, 'message_stop', { type: 'message_stop' });
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    find: (needle) => requests.filter((r) => r.raw.includes(needle)),
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
