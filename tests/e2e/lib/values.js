'use strict';
/* Values the tests send: the story's example and a spread of variants for the replica test. */

const fs = require('node:fs');
const path = require('node:path');
const { REPO_ROOT } = require('./harness');
const { YAML } = require('./templates');

const STORY_VALUES_FILE = path.join(REPO_ROOT, 'examples', 'values', 'user-service.yaml');

function storyValues() {
  return YAML.parse(fs.readFileSync(STORY_VALUES_FILE, 'utf8'));
}

/** `owner`/`repo` of a `host?owner=o&repo=r` value. */
function repoOf(values) {
  const params = new URLSearchParams(values.repoUrl.slice(values.repoUrl.indexOf('?') + 1));
  return { owner: params.get('owner'), repo: params.get('repo') };
}

const LANGUAGES = ['python', 'nodejs', 'go'];
const DATABASES = ['postgresql', 'dynamodb', 'none'];
const API_TYPES = ['rest', 'grpc', 'graphql'];
const ENVIRONMENTS = ['dev', 'staging', 'production'];

/** The i-th of many distinct, valid value sets (every language, database, API type and CI provider). */
function variant(i, prefix = 'svc') {
  const ciProvider = i % 2 ? 'gitlab' : 'github';
  const name = `${prefix}-${String(i).padStart(2, '0')}-${LANGUAGES[i % 3]}`;
  const values = {
    serviceName: name,
    description: `Replica test service number ${i}.`,
    owner: `group:default/team-${i % 4}`,
    language: LANGUAGES[i % 3],
    database: DATABASES[Math.floor(i / 3) % 3],
    apiType: API_TYPES[Math.floor(i / 9) % 3],
    environment: ENVIRONMENTS[i % 3],
    repoUrl: `${ciProvider === 'github' ? 'github.com' : 'gitlab.com'}?owner=e2e-${prefix}&repo=${name}`,
    ciProvider,
    createNetwork: i % 5 === 0,
  };
  if (i % 4 === 3) {
    Object.assign(values, {
      configureAdvanced: true,
      redisCache: true,
      messageQueue: i % 8 === 3 ? 'sqs' : 'sns',
      scheduledJobs: true,
      schedule: '*/15 * * * *',
      authentication: 'jwt',
    });
  }
  return values;
}

module.exports = { STORY_VALUES_FILE, repoOf, storyValues, variant };
