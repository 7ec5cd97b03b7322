'use strict';
/*
 * Templates the tests register besides the real ones:
 * - `microservice-e2e`: the real templates/microservice/template.yaml with ONLY the action of its
 *   publish steps replaced by the test-only stand-ins (same inputs; no git server runs here):
 *   publish:github / publish:gitlab → e2e:publish:local-git, publish:github:pull-request /
 *   publish:gitlab:merge-request → e2e:publish:local-git-pull-request. Parameters, the other
 *   steps (render, fs:delete, catalog:register...) and the output are the real ones.
 * - `acme-microservice-e2e`: the example overlay's template (examples/overlays/acme-microservice)
 *   with the same stand-ins, and the render step's template outputs added to the template output
 *   (the scaffolder shows a step's outputs nowhere else).
 * - `svcgen-e2e-bad-inputs`: faults the form cannot produce (a template set missing from the
 *   package, values that are not an object, a set in svcgen.templateDirs linking outside itself,
 *   a set that renders until the core stops it), each followed by a publish step that must not run.
 * and the template sets of those faults, written into a folder given as svcgen.templateDirs.
 */

const fs = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const { BACKEND_DIR, REPO_ROOT } = require('./harness');

// The `yaml` package the Backstage install already has.
const YAML = createRequire(path.join(BACKEND_DIR, 'package.json'))('yaml');

const TEMPLATES_DIR = path.resolve(process.env.SVCGEN_E2E_TEMPLATES_DIR || path.join(REPO_ROOT, 'templates'));
const REAL_LOCATION = path.join(TEMPLATES_DIR, 'location.yaml');
const REAL_TEMPLATE = path.join(TEMPLATES_DIR, 'microservice', 'template.yaml');
/** The example overlays (svcgen.templateDirs of the example backend) and the overlay's Template. */
const OVERLAYS_DIR = path.join(REPO_ROOT, 'examples', 'overlays');
const ACME_TEMPLATE = path.join(OVERLAYS_DIR, 'acme-microservice', 'template.yaml');
const TEST_PUBLISH_ACTION = 'e2e:publish:local-git';
const TEST_PULL_REQUEST_ACTION = 'e2e:publish:local-git-pull-request';
/** Real action → its test-only stand-in. */
const STAND_INS = {
  'publish:github': TEST_PUBLISH_ACTION,
  'publish:gitlab': TEST_PUBLISH_ACTION,
  'publish:github:pull-request': TEST_PULL_REQUEST_ACTION,
  'publish:gitlab:merge-request': TEST_PULL_REQUEST_ACTION,
};
const REAL_PUBLISH_ACTIONS = Object.keys(STAND_INS);

function loadRealTemplate(file = REAL_TEMPLATE) {
  return YAML.parse(fs.readFileSync(file, 'utf8'));
}

/** The real template with its publish actions swapped for the test-only push; nothing else changes. */
function localGitCopy(real, file = REAL_TEMPLATE) {
  const copy = structuredClone(real);
  copy.metadata.name = `${real.metadata.name}-e2e`;
  copy.metadata.title = `${real.metadata.title ?? real.metadata.name} (e2e test copy: publishes to a local bare repository)`;
  copy.metadata.tags = [...(real.metadata.tags ?? []).filter(t => t !== 'recommended'), 'e2e-test-only'];
  let replaced = 0;
  for (const step of copy.spec.steps) {
    if (STAND_INS[step.action]) {
      step.action = STAND_INS[step.action];
      replaced += 1;
    } else if (/^(publish|github|gitlab):/.test(step.action)) {
      throw new Error(`${file}: step ${step.id} uses ${step.action}, which needs a git server; add a stand-in`);
    }
  }
  if (replaced === 0) throw new Error(`${file}: no ${REAL_PUBLISH_ACTIONS.join('/')} step to replace`);
  return copy;
}

function badInputsTemplate() {
  return {
    apiVersion: 'scaffolder.backstage.io/v1beta3',
    kind: 'Template',
    metadata: {
      name: 'svcgen-e2e-bad-inputs',
      title: 'svcgen e2e: inputs the form cannot produce (test only)',
      tags: ['e2e-test-only'],
    },
    spec: {
      owner: 'group:default/platform-team',
      type: 'service',
      parameters: [
        {
          required: ['case', 'serviceName', 'repoUrl'],
          properties: {
            case: {
              type: 'string',
              enum: ['missing-template-set', 'values-not-an-object', 'values-a-list', ...Object.keys(SET_CASES)],
            },
            serviceName: { type: 'string' },
            repoUrl: { type: 'string' },
            tags: { type: 'array', items: { type: 'string' } },
          },
        },
      ],
      steps: [
        {
          id: 'render-missing-set',
          name: 'Render a template set that is not in the package',
          if: "${{ parameters.case === 'missing-template-set' }}",
          action: 'svcgen:render',
          input: { templateSet: 'no-such-set', values: '${{ parameters }}' },
        },
        {
          id: 'render-string-values',
          name: 'Render with values that are a string',
          if: "${{ parameters.case === 'values-not-an-object' }}",
          action: 'svcgen:render',
          input: { values: '${{ parameters.serviceName }}' },
        },
        {
          id: 'render-list-values',
          name: 'Render with values that are a list',
          if: "${{ parameters.case === 'values-a-list' }}",
          action: 'svcgen:render',
          input: { values: '${{ parameters.tags }}' },
        },
        ...Object.entries(SET_CASES).map(([kase, set]) => ({
          id: `render-${kase}`,
          name: `Render the template set ${set}`,
          if: `\${{ parameters.case === '${kase}' }}`,
          action: 'svcgen:render',
          input: { templateSet: set, values: { serviceName: '${{ parameters.serviceName }}' } },
        })),
        {
          id: 'publish',
          name: 'Publish (must not run)',
          action: TEST_PUBLISH_ACTION,
          input: { repoUrl: '${{ parameters.repoUrl }}' },
        },
      ],
    },
  };
}

/** Cases of the bad-inputs template that render a set of {@link writeTemplateSets}, and the set. */
const SET_CASES = {
  'link-to-a-file-outside': 'e2e-link-file',
  'link-to-proc-environ': 'e2e-link-environ',
  'slow-set': 'e2e-slow',
};

/** Files of the slow set: they loop until the core stops the render at its fuel limit (an error). */
const SLOW_FILES = 4;
const SLOW_LOOP = '{% for i in range(100000) %}{% for j in range(20) %}{% endfor %}{% endfor %}';

/**
 * Writes the fault template sets into `<dir>/svcgen-sets` (for svcgen.templateDirs) and returns
 * that folder, the secret the file link points at and the links:
 * - e2e-link-file: skeleton/secrets.txt links to a file outside the set holding `secret`;
 * - e2e-link-environ: skeleton/environ.txt links to /proc/self/environ (the backend's environment,
 *   its API token included);
 * - e2e-slow: renders for seconds, then fails (out of fuel).
 */
function writeTemplateSets(dir) {
  const root = path.join(dir, 'svcgen-sets');
  const secret = `e2e-secret-${require('node:crypto').randomBytes(12).toString('hex')}`;
  const secretFile = path.join(dir, 'outside-the-sets', 'secret.txt');
  fs.mkdirSync(path.dirname(secretFile), { recursive: true });
  fs.writeFileSync(secretFile, `${secret}\n`);
  const manifest = (name, extra = '') =>
    `name: ${name}\nversion: 1.0.0\nparameters:\n  serviceName:\n    type: string\n    required: true\n${extra}sources:\n  - dir: skeleton\n`;
  const write = (name, files, links = {}, extra = '') => {
    const set = path.join(root, name);
    fs.mkdirSync(path.join(set, 'skeleton'), { recursive: true });
    fs.writeFileSync(path.join(set, 'manifest.yaml'), manifest(name, extra));
    for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(set, 'skeleton', file), text);
    for (const [file, target] of Object.entries(links)) fs.symlinkSync(target, path.join(set, 'skeleton', file));
  };
  const readme = { 'README.md.jinja': '# {{ serviceName }}\n' };
  write(SET_CASES['link-to-a-file-outside'], readme, { 'secrets.txt': secretFile });
  write(SET_CASES['link-to-proc-environ'], readme, { 'environ.txt': '/proc/self/environ' });
  const slow = {};
  for (let i = 1; i <= SLOW_FILES; i++) slow[`loop-${i}.txt.jinja`] = `${SLOW_LOOP}\nfile ${i} of {{ serviceName }}\n`;
  // The most fuel a set may allow: a few seconds of work before the core stops it.
  write(SET_CASES['slow-set'], slow, {}, 'limits:\n  fuel: 20000000\n');
  return {
    templateDirs: [root],
    secret,
    links: {
      'link-to-a-file-outside': { set: SET_CASES['link-to-a-file-outside'], link: 'skeleton/secrets.txt', target: secretFile },
      'link-to-proc-environ': { set: SET_CASES['link-to-proc-environ'], link: 'skeleton/environ.txt', target: '/proc/self/environ' },
    },
  };
}

/** The overlay's template as the tests run it: stand-ins, plus the render step's template outputs. */
function acmeCopy(real) {
  const copy = localGitCopy(real, ACME_TEMPLATE);
  const render = copy.spec.steps.find(s => s.action === 'svcgen:render');
  if (!render) throw new Error(`${ACME_TEMPLATE}: no svcgen:render step`);
  for (const key of ['templateSet', 'templateVersion', 'templateSource', 'templateLayers']) {
    copy.spec.output[key] = `\${{ steps['${render.id}'].output.${key} }}`;
  }
  return copy;
}

/**
 * Writes the test templates into `dir` (one multi-document file) and returns the catalog
 * locations for the backend config: the real Location file and the overlay's template file, as
 * the example backend registers them, then the test file.
 */
function writeTestTemplates(dir) {
  const real = loadRealTemplate();
  const copy = localGitCopy(real);
  const acmeReal = loadRealTemplate(ACME_TEMPLATE);
  const acme = { real: acmeReal, copy: acmeCopy(acmeReal) };
  const file = path.join(dir, 'e2e-templates.yaml');
  const docs = [copy, acme.copy, badInputsTemplate()].map(d => YAML.stringify(d, { lineWidth: 0 }));
  fs.writeFileSync(file, `# generated by tests/e2e/lib/templates.js: test-only templates\n${docs.join('---\n')}`);
  return {
    real,
    copy,
    acme,
    locations: [
      { type: 'file', target: REAL_LOCATION, rules: [{ allow: ['Location', 'Template'] }] },
      { type: 'file', target: ACME_TEMPLATE, rules: [{ allow: ['Template'] }] },
      { type: 'file', target: file, rules: [{ allow: ['Template'] }] },
    ],
  };
}

module.exports = {
  ACME_TEMPLATE,
  OVERLAYS_DIR,
  SET_CASES,
  REAL_LOCATION,
  REAL_PUBLISH_ACTIONS,
  REAL_TEMPLATE,
  TEMPLATES_DIR,
  TEST_PUBLISH_ACTION,
  TEST_PULL_REQUEST_ACTION,
  YAML,
  loadRealTemplate,
  localGitCopy,
  writeTemplateSets,
  writeTestTemplates,
};
