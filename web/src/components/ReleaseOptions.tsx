import type { Release } from '../api';

/** A release picker's choices, one per release, valued by its name. */
export function ReleaseOptions({ releases }: { releases: Release[] | undefined }) {
  return (
    <>
      {releases?.map((r) => (
        <option key={r.name} value={r.name}>
          {r.name}
        </option>
      ))}
    </>
  );
}
