/**
 * Where octobridge is installed: the repository's root (two folders up from this module), for the files it ships
 * (the page, the worker binary, `src/main.ts`).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (absolute). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
