import { CopyButton } from './Buttons';

/** A token shown once, right after it was created. */
export function OneTimeSecret({ token, testId = 'new-token' }: { token: string; testId?: string }) {
  return (
    <div className="secret">
      <div className="secret-warning">Copy this token now. It is stored only as a hash and will not be shown again.</div>
      <div className="secret-row">
        <code className="secret-value" data-testid={testId}>
          {token}
        </code>
        <CopyButton text={token} testId={`${testId}-copy`} />
      </div>
    </div>
  );
}

export function CodeBlock({ code, testId }: { code: string; testId?: string }) {
  return (
    <div className="codeblock">
      <div className="codeblock-actions">
        <CopyButton text={code} testId={testId ? `${testId}-copy` : undefined} />
      </div>
      <pre data-testid={testId}>{code}</pre>
    </div>
  );
}
