/**
 * The module `stem` beside the calling one, with the caller's own extension:
 * `.ts` when Node runs the sources (this repository), `.js` once they are built
 * into dist/ (a packed handoff in a user's node_modules, where Node strips no types).
 * For worker threads, whose file is a URL that no import rewriting reaches.
 */
export function siblingModule(stem: string, callerUrl: string): URL {
  const extension = callerUrl.endsWith('.js') ? '.js' : '.ts';
  return new URL(`./${stem}${extension}`, callerUrl);
}
