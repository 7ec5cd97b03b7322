import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildTree,
  decodeBase64,
  fileOffsets,
  fileText,
  formatSize,
  formValues,
  groupProblems,
  readFailure,
  versionMismatch,
  type FolderNode,
} from './preview.js';

describe('formValues', () => {
  it('keeps the answers, drops its own key and what RJSF leaves unset or empty', () => {
    const formData = {
      serviceName: 'orders',
      description: '',
      owner: undefined,
      createNetwork: false,
      preview: undefined,
      configureAdvanced: true,
      redisCache: true,
      schedule: '*/5 * * * *',
    };
    assert.deepEqual(formValues(formData, 'preview'), {
      serviceName: 'orders',
      createNetwork: false,
      configureAdvanced: true,
      redisCache: true,
      schedule: '*/5 * * * *',
    });
  });

  it('drops its own key even when something set it', () => {
    assert.deepEqual(formValues({ preview: null, a: 1 }, 'preview'), { a: 1 });
  });

  it('keeps null, 0 and false: the core decides what they mean', () => {
    assert.deepEqual(formValues({ a: null, b: 0, c: false }, undefined), { a: null, b: 0, c: false });
  });

  it('gives no values for anything but an object', () => {
    for (const formData of [undefined, null, 'x', 3, ['a']]) {
      assert.deepEqual(formValues(formData, 'preview'), {});
    }
  });
});

const files = [
  { path: '.github/workflows/ci.yaml', size: 30, executable: false },
  { path: 'README.md', size: 5, executable: false },
  { path: 'app/main.py', size: 12, executable: false },
  { path: 'app/api/routes.py', size: 7, executable: false },
  { path: 'scripts/run.sh', size: 3, executable: true },
  { path: 'Dockerfile', size: 4, executable: false },
];

function shape(node: FolderNode): unknown {
  return {
    path: node.path,
    count: node.fileCount,
    size: node.size,
    folders: node.folders.map(shape),
    files: node.files.map(f => `${f.path}:${f.size}#${f.index}`),
  };
}

describe('buildTree', () => {
  it('nests folders, sorts folders then files by name, sums counts and sizes', () => {
    assert.deepEqual(shape(buildTree(files)), {
      path: '',
      count: 6,
      size: 61,
      folders: [
        {
          path: '.github',
          count: 1,
          size: 30,
          folders: [{ path: '.github/workflows', count: 1, size: 30, folders: [], files: ['.github/workflows/ci.yaml:30#0'] }],
          files: [],
        },
        {
          path: 'app',
          count: 2,
          size: 19,
          folders: [{ path: 'app/api', count: 1, size: 7, folders: [], files: ['app/api/routes.py:7#3'] }],
          files: ['app/main.py:12#2'],
        },
        { path: 'scripts', count: 1, size: 3, folders: [], files: ['scripts/run.sh:3#4'] },
      ],
      files: ['Dockerfile:4#5', 'README.md:5#1'],
    });
  });

  it('gives an empty root for no files', () => {
    assert.deepEqual(shape(buildTree([])), { path: '', count: 0, size: 0, folders: [], files: [] });
  });

  it('lists every file exactly once, with the size it was given', () => {
    const seen: string[] = [];
    const walk = (node: FolderNode) => {
      node.folders.forEach(walk);
      node.files.forEach(f => seen.push(`${f.path}:${f.size}`));
    };
    walk(buildTree(files));
    assert.deepEqual(seen.sort(), files.map(f => `${f.path}:${f.size}`).sort());
  });
});

describe('file contents', () => {
  const list = [
    { path: 'a.txt', size: 3, executable: false },
    { path: 'b.txt', size: 7, executable: false }, // ü and ß take 2 bytes each
    { path: 'c.txt', size: 0, executable: false },
  ];
  const data = new TextEncoder().encode('abcgrüße');

  it('finds each file in the data buffer by the sizes before it', () => {
    assert.deepEqual(fileOffsets(list), [0, 3, 10]);
  });

  it('decodes a file as UTF-8', () => {
    assert.equal(fileText(list, data, 0), 'abc');
    assert.equal(fileText(list, data, 1), 'grüße');
    assert.equal(fileText(list, data, 2), '');
  });

  it('shows bytes that are not UTF-8 as replacement characters', () => {
    assert.equal(fileText([{ path: 'x', size: 2, executable: false }], new Uint8Array([0xff, 0x41]), 0), '\uFFFDA');
  });

  it('refuses an index with no file', () => {
    assert.throws(() => fileText(list, data, 3), RangeError);
  });
});

describe('problems', () => {
  const problems = [
    { field: 'serviceName', code: 'pattern_mismatch', message: 'serviceName: must be kebab-case' },
    { field: 'schedule', code: 'required_with', message: 'schedule: is required with scheduled jobs' },
    { field: 'serviceName', code: 'python_keyword', message: 'serviceName: is a Python keyword' },
  ];

  it('groups by field in the order of the first problem of each', () => {
    const byField = groupProblems(problems);
    assert.deepEqual([...byField.keys()], ['serviceName', 'schedule']);
    assert.deepEqual(
      byField.get('serviceName')!.map(p => p.code),
      ['pattern_mismatch', 'python_keyword'],
    );
  });

  it('reads a SvcgenError of kind validation as its problems', () => {
    const err = Object.assign(new Error('values: 3 problems'), { name: 'SvcgenError', kind: 'validation', problems });
    const failure = readFailure(err);
    assert.equal(failure.kind, 'problems');
    assert.equal(failure.kind === 'problems' && failure.byField.get('schedule')![0].message, problems[1].message);
  });

  it('reads any other error as one message', () => {
    const template = Object.assign(new Error('template: undefined value (in x.jinja:3)'), {
      name: 'SvcgenError',
      kind: 'template',
      problems: [],
    });
    assert.deepEqual(readFailure(template), { kind: 'error', message: 'template: undefined value (in x.jinja:3)' });
    assert.deepEqual(readFailure(new TypeError('boom')), { kind: 'error', message: 'boom' });
    assert.deepEqual(readFailure('plain'), { kind: 'error', message: 'plain' });
  });
});

describe('versionMismatch', () => {
  it('accepts the same version', () => {
    assert.equal(versionMismatch('0.1.0', '0.1.0'), undefined);
  });

  it('names both versions when they differ', () => {
    assert.equal(versionMismatch('0.2.0', '0.1.0'), 'the backend runs svcgen 0.2.0, this page 0.1.0');
  });

  it('refuses a backend that does not say', () => {
    assert.match(versionMismatch(null, '0.1.0')!, /did not say/);
    assert.match(versionMismatch('', '0.1.0')!, /did not say/);
  });
});

describe('small helpers', () => {
  it('decodes base64 to bytes', () => {
    assert.deepEqual([...decodeBase64(Buffer.from([0, 1, 254, 255]).toString('base64'))], [0, 1, 254, 255]);
    assert.equal(decodeBase64('').length, 0);
  });

  it('formats sizes', () => {
    assert.equal(formatSize(0), '0 B');
    assert.equal(formatSize(1023), '1023 B');
    assert.equal(formatSize(1536), '1.5 KB');
    assert.equal(formatSize(3 * 1024 * 1024), '3.0 MB');
  });
});
