// Text PostgreSQL cannot store — NUL characters and lone UTF-16 surrogates — is
// refused as BAD_USER_INPUT before execution, wherever it comes: variables or
// string literals of the document. Without this check such a string reached the
// database and came back as an unexpected error.
import { Kind, visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { badInput, type FieldProblem } from '../errors.js';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (text: string) => text.includes('\u0000') || LONE_SURROGATE.test(text);

function problemsInValue(value: unknown, path: string, found: FieldProblem[]): void {
  if (found.length >= 10) return;
  if (typeof value === 'string') {
    if (unstorable(value)) found.push({ path, message: 'must not contain NUL characters or unpaired surrogates' });
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) problemsInValue(item, `${path}.${i}`, found);
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) problemsInValue(item, path ? `${path}.${key}` : key, found);
  }
}

function problemsInDocument(document: DocumentNode, found: FieldProblem[]): void {
  visit(document, {
    [Kind.STRING](node) {
      if (unstorable(node.value)) found.push({ path: 'query', message: 'a string literal contains NUL characters or unpaired surrogates' });
    },
  });
}

export function inputHygienePlugin(): Plugin {
  const clean = new WeakSet<DocumentNode>();
  const check = (document: DocumentNode, variables: Record<string, unknown> | null | undefined) => {
    // A document's literals are checked once; variables on every request.
    if (!clean.has(document)) {
      const found: FieldProblem[] = [];
      problemsInDocument(document, found);
      if (found.length) return badInput(found);
      clean.add(document);
    }
    const found: FieldProblem[] = [];
    problemsInValue(variables ?? {}, '', found);
    return found.length ? badInput(found) : undefined;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const refused = check(args.document, args.variableValues);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const refused = check(args.document, args.variableValues);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
  };
}
