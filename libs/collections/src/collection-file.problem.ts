/** One problem of a collection file: where it is and what is wrong, printed `file: path: reason` by `spillway validate`. */
export interface CollectionFileProblem {
  /** The file (or, for a problem of the folder itself, the folder). */
  readonly file: string;
  /** The field in the file, e.g. `output[0].with.keys[1]`; {@link FOLDER_PROBLEM_PATH} for the folder itself. */
  readonly path: string;
  readonly reason: string;
}

/** The path of a problem of COLLECTIONS_DIR itself (missing, unreadable, empty). */
export const FOLDER_PROBLEM_PATH = '(folder)';

/** The path of a problem of an entity module of SINK_ENTITIES itself (cannot be loaded, exports no entity). */
export const MODULE_PROBLEM_PATH = '(module)';

/** Thrown by loadCollections for the first problem, as one line (the apps stop on it). */
export class CollectionConfigException extends Error {
  override readonly name = 'CollectionConfigException';
}

/** The one line the apps stop with: `collection file <file>: field "<path>": <reason>`. */
export function describeProblem(problem: CollectionFileProblem): string {
  switch (problem.path) {
    case FOLDER_PROBLEM_PATH:
      return `COLLECTIONS_DIR ${problem.file}: ${problem.reason}`;
    case MODULE_PROBLEM_PATH:
      return `SINK_ENTITIES module ${problem.file}: ${problem.reason}`;
    default:
      return `collection file ${problem.file}: field "${problem.path}": ${problem.reason}`;
  }
}

/** Collects the problems of one file; `at(path)` narrows to a part of it. */
export class ProblemSink {
  constructor(
    readonly file: string,
    private readonly found: CollectionFileProblem[],
    /** The path of the part this sink reports on ('' for the whole file). */
    readonly base = '',
  ) {}

  /** Reports a problem at `path`, relative to this sink's part ('' for the part itself). */
  add(path: string, reason: string): void {
    this.found.push({ file: this.file, path: joinPath(this.base, path) || '(root)', reason });
  }

  /** A sink for a part of this one, e.g. `at('output[0]').at('with')`. */
  at(path: string): ProblemSink {
    return new ProblemSink(this.file, this.found, joinPath(this.base, path));
  }

  /** How many problems were found so far, in the whole run. */
  get count(): number {
    return this.found.length;
  }
}

/** Joins two paths: `a` + `b` → `a.b`, `a` + `[1]` → `a[1]`. */
export function joinPath(base: string, path: string): string {
  if (base === '') return path;
  if (path === '') return base;

  return path.startsWith('[') ? `${base}${path}` : `${base}.${path}`;
}
