'use strict';
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { createServer } = require('../src/server');

test('health and ready answer 200', async () => {
  const server = createServer().listen(0);
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    for (const path of ['/health', '/ready']) {
      const res = await fetch(`http://127.0.0.1:${server.address().port}${path}`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: 'ok' });
    }
  } finally {
    server.close();
  }
});
