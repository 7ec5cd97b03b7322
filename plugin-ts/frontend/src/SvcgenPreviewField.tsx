// The SvcgenPreview field: every problem of the live answers and the files they generate, rendered
// in the page by the same WebAssembly core and template set the svcgen:render step runs. It never
// sets a value and never reports a validation error, so it cannot block the form.

import React, { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { discoveryApiRef, fetchApiRef, useApi } from '@backstage/core-plugin-api';
import type { FieldExtensionComponentProps } from '@backstage/plugin-scaffolder-react';
import { loadSet, unavailableReason, type LoadedSet } from './loader.js';
import {
  buildTree,
  fileText,
  formatSize,
  formValues,
  readFailure,
  type FolderNode,
  type OutputFile,
  type RenderFailure,
} from './preview.js';

/** The field's `ui:options`. */
export interface SvcgenPreviewUiOptions {
  /** The template set the template's svcgen:render step renders (default `microservice`). */
  templateSet?: string;
}

/** The props the scaffolder gives the field. */
export type SvcgenPreviewFieldProps = FieldExtensionComponentProps<unknown, SvcgenPreviewUiOptions>;

const DEFAULT_TEMPLATE_SET = 'microservice';

type Status = { state: 'loading' } | { state: 'ready'; set: LoadedSet } | { state: 'unavailable'; reason: string };

/** What one validate+render of the current values gave. */
interface Result {
  files?: OutputFile[];
  data?: Uint8Array;
  failure?: RenderFailure;
  ms: number;
}

export function SvcgenPreviewField(props: SvcgenPreviewFieldProps): JSX.Element {
  const discoveryApi = useApi(discoveryApiRef);
  const fetchApi = useApi(fetchApiRef);
  const templateSet = props.uiSchema?.['ui:options']?.templateSet || DEFAULT_TEMPLATE_SET;
  const [status, setStatus] = useState<Status>({ state: 'loading' });

  useEffect(() => {
    let current = true;
    setStatus({ state: 'loading' });
    loadSet(templateSet, discoveryApi, fetchApi).then(
      set => current && setStatus({ state: 'ready', set }),
      err => current && setStatus({ state: 'unavailable', reason: unavailableReason(err) }),
    );
    return () => {
      current = false;
    };
  }, [templateSet, discoveryApi, fetchApi]);

  const formData = (props.formContext as { formData?: unknown } | undefined)?.formData;
  const valuesKey = JSON.stringify(formValues(formData, props.name));
  const set = status.state === 'ready' ? status.set : undefined;

  // Renders on the main thread: validate+render of the full microservice set takes a few ms.
  const result = useMemo<Result | undefined>(() => {
    if (!set) {
      return undefined;
    }
    const started = performance.now();
    try {
      const output = set.render(JSON.parse(valuesKey));
      return { files: output.files, data: output.data, ms: performance.now() - started };
    } catch (err) {
      return { failure: readFailure(err), ms: performance.now() - started };
    }
  }, [set, valuesKey]);

  // The last files rendered, kept while the values have problems.
  const lastFiles = useRef<Pick<Result, 'files' | 'data'>>({});
  if (result?.files) {
    lastFiles.current = { files: result.files, data: result.data };
  }
  const { files, data } = lastFiles.current;
  const stale = result !== undefined && result.files === undefined;

  const [openPath, setOpenPath] = useState<string | undefined>();
  const openIndex = files && openPath !== undefined ? files.findIndex(f => f.path === openPath) : -1;
  const openText = useMemo(
    () => (files && data && openIndex >= 0 ? fileText(files, data, openIndex) : undefined),
    [files, data, openIndex],
  );
  const tree = useMemo(() => (files ? buildTree(files) : undefined), [files]);

  const root = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    root.current?.setAttribute('data-updated-at', String(performance.now()));
  });

  const statusText = status.state === 'unavailable' ? `unavailable: ${status.reason}` : status.state;
  return (
    <div
      ref={root}
      data-testid="svcgen-preview"
      data-template-set={templateSet}
      data-render-ms={result ? result.ms.toFixed(3) : undefined}
      style={styles.root}
    >
      <div style={styles.header}>
        <strong>{props.schema?.title || 'Preview'}</strong>{' '}
        <span data-testid="svcgen-preview-status" style={styles.muted}>
          {statusText}
        </span>
      </div>
      {status.state === 'unavailable' && (
        <p style={styles.muted}>The preview could not start; the form works without it.</p>
      )}
      {result?.failure?.kind === 'problems' && <Problems byField={result.failure.byField} />}
      {result?.failure?.kind === 'error' && (
        <p role="alert" style={styles.error} data-testid="svcgen-render-error">
          {result.failure.message}
        </p>
      )}
      {tree && (
        <div style={stale ? { ...styles.files, opacity: 0.5 } : styles.files}>
          <div style={styles.muted}>
            {stale ? 'Files of the last valid answers: ' : ''}
            {filesText(tree.fileCount)}, {formatSize(tree.size)}
          </div>
          <div style={styles.panes}>
            <div style={styles.tree} role="tree">
              <Folder node={tree} open={openPath} onOpen={setOpenPath} />
            </div>
            {openText !== undefined && (
              <pre data-testid="svcgen-file-contents" data-path={openPath} style={styles.contents}>
                {openText}
              </pre>
            )}
          </div>
        </div>
      )}
    </div>
  );
}

function Problems({ byField }: { byField: Map<string, { field: string; code: string; message: string }[]> }) {
  return (
    <ul role="alert" style={styles.problems}>
      {[...byField].flatMap(([field, problems]) =>
        problems.map((p, i) => (
          <li key={`${field}/${i}`} data-testid="svcgen-problem" data-field={field} data-code={p.code} style={styles.error}>
            {p.message}
          </li>
        )),
      )}
    </ul>
  );
}

function Folder(props: { node: FolderNode; open?: string; onOpen: (path: string) => void }) {
  const { node } = props;
  const entries = (
    <ul style={styles.list}>
      {node.folders.map(child => (
        <li key={child.path}>
          <Folder node={child} open={props.open} onOpen={props.onOpen} />
        </li>
      ))}
      {node.files.map(file => (
        <li key={file.path}>
          <button
            type="button"
            data-testid="svcgen-file"
            data-path={file.path}
            data-size={file.size}
            aria-current={file.path === props.open ? 'true' : undefined}
            onClick={() => props.onOpen(file.path)}
            style={file.path === props.open ? { ...styles.file, ...styles.fileOpen } : styles.file}
          >
            <span>{file.name}</span>
            <span style={styles.muted}>{formatSize(file.size)}</span>
          </button>
        </li>
      ))}
    </ul>
  );
  if (node.path === '') {
    return entries;
  }
  // <details> keeps its own open state: React leaves it alone while the tree re-renders.
  return (
    <details open data-testid="svcgen-folder" data-path={node.path}>
      <summary style={styles.summary}>
        {node.name}/ <span style={styles.muted}>{filesText(node.fileCount)}</span>
      </summary>
      {entries}
    </details>
  );
}

const mono = 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace';
const styles: Record<string, React.CSSProperties> = {
  root: { fontSize: '0.875rem', lineHeight: 1.5 },
  header: { marginBottom: 8 },
  muted: { opacity: 0.7, marginLeft: 8 },
  error: { color: '#d32f2f' },
  problems: { margin: '0 0 8px', paddingLeft: 20 },
  files: { marginTop: 8 },
  panes: { display: 'flex', gap: 16, alignItems: 'flex-start', marginTop: 4 },
  tree: { flex: '0 0 auto', minWidth: 260, maxHeight: 480, overflow: 'auto', fontFamily: mono },
  list: { listStyle: 'none', margin: 0, paddingLeft: 14 },
  summary: { cursor: 'pointer' },
  file: {
    display: 'flex',
    justifyContent: 'space-between',
    gap: 16,
    width: '100%',
    padding: '0 4px',
    border: 0,
    background: 'none',
    color: 'inherit',
    font: 'inherit',
    textAlign: 'left',
    cursor: 'pointer',
  },
  fileOpen: { background: 'rgba(127, 127, 127, 0.2)' },
  contents: {
    flex: '1 1 auto',
    minWidth: 0,
    maxHeight: 480,
    overflow: 'auto',
    margin: 0,
    padding: 8,
    fontFamily: mono,
    fontSize: '0.8rem',
    background: 'rgba(127, 127, 127, 0.1)',
  },
};

function filesText(count: number): string {
  return `${count} ${count === 1 ? 'file' : 'files'}`;
}
