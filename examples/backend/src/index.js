/*
 * A minimal Backstage backend: the catalog (with the scaffolder's Template entity model), the
 * scaffolder, the GitHub and GitLab publish modules, and the svcgen module, installed from npm the
 * way a platform team installs it. Plain CommonJS so that `node src/index.js` runs it as is.
 */
'use strict';

const { createBackend } = require('@backstage/backend-defaults');
const { coreServices, createBackendFeatureLoader } = require('@backstage/backend-plugin-api');

const backend = createBackend();

backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'));

backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(import('@backstage/plugin-scaffolder-backend-module-github'));
backend.add(import('@backstage/plugin-scaffolder-backend-module-gitlab'));

// The module under test, as a user adds it after `npm install @svcgen/plugin-scaffolder-backend-module-svcgen`.
backend.add(import('@svcgen/plugin-scaffolder-backend-module-svcgen'));

// Sign-in for a Backstage frontend (the browser test's app, tests/browser): the auth backend with
// the guest provider, loaded only when the config enables it with `auth.providers.guest` (the
// guest provider is for development and tests; a real installation configures its own provider).
// Without it the backend accepts only service tokens (backend.auth.externalAccess), as before.
backend.add(
  createBackendFeatureLoader({
    deps: { config: coreServices.rootConfig },
    *loader({ config }) {
      if (config.has('auth.providers.guest')) {
        yield import('@backstage/plugin-auth-backend');
        yield import('@backstage/plugin-auth-backend-module-guest-provider');
      }
    },
  }),
);

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
