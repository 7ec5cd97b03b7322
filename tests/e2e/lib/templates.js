'use strict';
/*
 * Templates the tests register besides the real ones:
 * - `microservice-e2e`: the real templates/microservice/template.yaml with ONLY the action of its
 *   publish steps replaced by the test-only stand-ins (same inputs; no git server runs here):
 *   publish:github / publish:gitlab → e2e:publish:local-git, publish:github:pull-request /
 *   publish:gitlab:merge-request → e2e:publish:local-git-pull-request. Parameters, the other
 *   steps (render, fs:delete, catalog:register...) and the output are the real ones.
 * - `svcgen-e2e-bad-inputs`: faults the form cannot produce (a template set missing from the
 *   package, values that are not an object), each followed by a publish step that must not run.
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

function loadRealTemplate() {
  return YAML.parse(fs.readFileSync(REAL_TEMPLATE, 'utf8'));
}

/** The real template with its publish actions swapped for the test-only push; nothing else changes. */
function localGitCopy(real) {
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
      throw new Error(`${REAL_TEMPLATE}: step ${step.id} uses ${step.action}, which needs a git server; add a stand-in`);
    }
  }
  if (replaced === 0) throw new Error(`${REAL_TEMPLATE}: no ${REAL_PUBLISH_ACTIONS.join('/')} step to replace`);
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
            case: { type: 'string', enum: ['missing-template-set', 'values-not-an-object', 'values-a-list'] },
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

/**
 * Writes the test templates into `dir` (one multi-document file) and returns the catalog
 * locations for the backend config: the real Location file, then the test file.
 */
function writeTestTemplates(dir) {
  const real = loadRealTemplate();
  const copy = localGitCopy(real);
  const file = path.join(dir, 'e2e-templates.yaml');
  const docs = [copy, badInputsTemplate()].map(d => YAML.stringify(d, { lineWidth: 0 }));
  fs.writeFileSync(file, `# generated by tests/e2e/lib/templates.js: test-only templates\n${docs.join('---\n')}`);
  return {
    real,
    copy,
    locations: [
      { type: 'file', target: REAL_LOCATION, rules: [{ allow: ['Location', 'Template'] }] },
      { type: 'file', target: file, rules: [{ allow: ['Template'] }] },
    ],
  };
}

module.exports = {
  REAL_LOCATION,
  REAL_PUBLISH_ACTIONS,
  REAL_TEMPLATE,
  TEMPLATES_DIR,
  TEST_PUBLISH_ACTION,
  TEST_PULL_REQUEST_ACTION,
  YAML,
  loadRealTemplate,
  localGitCopy,
  writeTestTemplates,
};
