/*
 * A minimal Backstage backend: the catalog (with the scaffolder's Template entity model), the
 * scaffolder, the GitHub and GitLab publish modules, and the svcgen module, installed from npm the
 * way a platform team installs it. Plain CommonJS so that `node src/index.js` runs it as is.
 */
'use strict';

const { createBackend } = require('@backstage/backend-defaults');

const backend = createBackend();

backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'));

backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(import('@backstage/plugin-scaffolder-backend-module-github'));
backend.add(import('@backstage/plugin-scaffolder-backend-module-gitlab'));

// The module under test, as a user adds it after `npm install @svcgen/plugin-scaffolder-backend-module-svcgen`.
backend.add(import('@svcgen/plugin-scaffolder-backend-module-svcgen'));

// Test-only: a stand-in for publish:github / publish:gitlab that pushes to a local bare repository.
// Loaded only when the end-to-end tests ask for it; never part of a real installation.
if (process.env.SVCGEN_E2E_TEST_ONLY_MODULES === '1') {
  backend.add(require('./e2eTestOnlyModule').e2eTestOnlyModule);
}

// A backend whose startup failed otherwise stays up answering 503; exit so that a supervisor
// (systemd, Kubernetes) restarts it. One way this happens: replicas started at the same moment on
// an empty PostgreSQL race for the schema migrations ("Migration table is already locked").
backend.start().catch(err => {
  console.error('Backend startup failed, exiting:', err);
  process.exit(1);
});
