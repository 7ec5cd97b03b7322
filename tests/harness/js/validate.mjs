// Validators that only exist for Node.js, run by the harness:
//   node validate.mjs argocd  FILE...   ArgoCD Application/AppProject documents against their schema
//   node validate.mjs graphql FILE...   SDL files build one schema; operation files validate against it
//   node validate.mjs catalog FILE...   Backstage catalog entities, as the catalog's own policies check them
//   node validate.mjs batch SPEC.json   all three at once (one Node.js start per repository)
// Prints one JSON object: {"results": [{"file", "ok", "errors": [...], "checked": n}]}.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

// The harness parses YAML itself and passes, for each YAML file, a JSON twin holding the array
// of its documents, as "twin.json=original.yaml" (messages name the original).
function loadYamlDocs(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

async function argocd(files) {
  const models = await import('@kubernetes-models/argo-cd/argoproj.io/v1alpha1');
  const results = [];
  for (const file of files) {
    const docs = loadYamlDocs(file);
    const errors = [];
    let checked = 0;
    for (const doc of docs) {
      const Model = models[doc?.kind];
      if (!Model || !String(doc.apiVersion).startsWith('argoproj.io/')) continue;
      checked += 1;
      try {
        new Model(doc).validate();
      } catch (error) {
        const details = (error.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
        errors.push(`${doc.kind} ${doc.metadata?.name ?? '?'}: ${details.length ? details.join('; ') : error.message}`);
      }
    }
    results.push({ file, ok: errors.length === 0, errors, checked });
  }
  return results;
}

async function graphql(files) {
  const g = require('graphql');
  const sdl = [];
  const operations = [];
  const errors = [];
  for (const file of files) {
    try {
      const doc = g.parse(new g.Source(readFileSync(file, 'utf8'), file));
      const executable = doc.definitions.filter((d) => g.isExecutableDefinitionNode(d));
      (executable.length === doc.definitions.length ? operations : sdl).push({ file, doc });
    } catch (error) {
      errors.push({ file, message: error.message });
    }
  }
  const results = [];
  let schema;
  if (sdl.length) {
    try {
      schema = g.buildASTSchema(g.concatAST(sdl.map((s) => s.doc)));
      const problems = g.validateSchema(schema);
      for (const s of sdl) {
        results.push({ file: s.file, ok: problems.length === 0, errors: problems.map((p) => p.message), checked: 1 });
      }
    } catch (error) {
      for (const s of sdl) results.push({ file: s.file, ok: false, errors: [error.message], checked: 1 });
      schema = undefined;
    }
  }
  for (const op of operations) {
    if (!schema) {
      results.push({ file: op.file, ok: false, errors: ['operations but no schema to validate them against'], checked: 1 });
      continue;
    }
    const problems = g.validate(schema, op.doc);
    results.push({ file: op.file, ok: problems.length === 0, errors: problems.map((p) => p.message), checked: 1 });
  }
  for (const e of errors) results.push({ file: e.file, ok: false, errors: [e.message], checked: 1 });
  return results;
}

function resolvePlaceholders(value, baseDir, errors) {
  // The catalog resolves $text/$json/$yaml references before validating; do the same for local files.
  if (Array.isArray(value)) return value.map((v) => resolvePlaceholders(v, baseDir, errors));
  if (value && typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 1 && ['$text', '$json', '$yaml'].includes(keys[0])) {
      const target = value[keys[0]];
      if (/^[a-z]+:\/\//i.test(target)) return `(remote ${target})`;
      try {
        const text = readFileSync(resolve(baseDir, target), 'utf8');
        return keys[0] === '$json' ? JSON.parse(text) : text; // $yaml kept as text: only presence matters here
      } catch (error) {
        errors.push(`${keys[0]} ${target}: ${error.message}`);
        return '';
      }
    }
    return Object.fromEntries(keys.map((k) => [k, resolvePlaceholders(value[k], baseDir, errors)]));
  }
  return value;
}

async function catalog(files, sources) {
  const m = require('@backstage/catalog-model');
  const policy = m.EntityPolicies.allOf([
    new m.SchemaValidEntityPolicy(),
    new m.DefaultNamespaceEntityPolicy(),
    new m.NoForeignRootFieldsEntityPolicy(),
    new m.FieldFormatEntityPolicy(),
  ]);
  const kindValidators = [
    m.apiEntityV1alpha1Validator, m.componentEntityV1alpha1Validator, m.domainEntityV1alpha1Validator,
    m.groupEntityV1alpha1Validator, m.locationEntityV1alpha1Validator, m.resourceEntityV1alpha1Validator,
    m.systemEntityV1alpha1Validator, m.userEntityV1alpha1Validator,
  ];
  const refFields = ['owner', 'system', 'domain', 'subcomponentOf', 'parent'];
  const refListFields = ['providesApis', 'consumesApis', 'dependsOn', 'dependencyOf', 'children', 'memberOf', 'members'];
  const results = [];
  for (const [i, file] of files.entries()) {
    const errors = [];
    let checked = 0;
    for (const raw of loadYamlDocs(file)) {
      if (!raw || typeof raw !== 'object') continue;
      checked += 1;
      const entity = resolvePlaceholders(raw, dirname(sources[i] ?? file), errors);
      const label = `${entity.kind ?? '?'} ${entity.metadata?.name ?? '?'}`;
      try {
        const out = await policy.enforce(entity);
        if (!out) throw new Error('rejected by the entity policies');
        let known = false;
        for (const validator of kindValidators) {
          if (await validator.check(out)) known = true;
        }
        if (!known) errors.push(`${label}: no validator knows kind ${entity.kind} in ${entity.apiVersion}`);
        for (const f of refFields) {
          const v = out.spec?.[f];
          if (typeof v === 'string') m.parseEntityRef(v, { defaultKind: 'group', defaultNamespace: 'default' });
        }
        for (const f of refListFields) {
          for (const v of out.spec?.[f] ?? []) m.parseEntityRef(v, { defaultKind: 'component', defaultNamespace: 'default' });
        }
      } catch (error) {
        errors.push(`${label}: ${error.message}`);
      }
    }
    results.push({ file: sources[i] ?? file, ok: errors.length === 0, errors, checked });
  }
  return results;
}

function splitPairs(args) {
  const pairs = args.map((a) => (a.includes('=') ? a.split('=') : [a, a]));
  return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
}

async function runOne(command, args) {
  const [files, sources] = splitPairs(args);
  let results;
  if (command === 'argocd') results = await argocd(files);
  else if (command === 'graphql') results = await graphql(files);
  else if (command === 'catalog') results = await catalog(files, sources);
  else throw new Error(`unknown command ${command}`);
  for (const r of results) {
    const i = files.indexOf(r.file);
    if (i >= 0) r.file = sources[i];
  }
  return results;
}

const [command, ...args] = process.argv.slice(2);
if (command === 'batch') {
  // batch SPEC.json: {"argocd": [args], "graphql": [args], "catalog": [args]} -> {"argocd": results, ...}
  const spec = JSON.parse(readFileSync(args[0], 'utf8'));
  const out = {};
  for (const [name, list] of Object.entries(spec)) {
    out[name] = list.length ? await runOne(name, list) : [];
  }
  console.log(JSON.stringify(out));
} else if (['argocd', 'graphql', 'catalog'].includes(command)) {
  console.log(JSON.stringify({ results: await runOne(command, args) }));
} else {
  console.error('usage: validate.mjs argocd|graphql|catalog FILE... | batch SPEC.json');
  process.exit(2);
}
