// The last project opened, so "/" lands where the operator left off. Only a
// project id is stored, nothing secret.
const KEY = 'sentori.lastProject';

export function rememberProject(pid: string): void {
  try {
    localStorage.setItem(KEY, pid);
  } catch {
    // Storage can be disabled; remembering is a convenience.
  }
}

export function lastProject(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}
