/** Where the worker process entry is, for the supervisor to fork. */
import { fileURLToPath } from 'node:url';

/** The compiled `main.js` next to this module. */
export const WORKER_ENTRY: string = fileURLToPath(new URL('./main.js', import.meta.url));
