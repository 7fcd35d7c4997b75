import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router';
import { api, keys, setCsrfToken, type Me } from '../../api';
import { loginError } from '../../auth/loginError';
import { rememberSession, useMe } from '../../auth/session';
import { useDocumentTitle } from '../../components/useDocumentTitle';
import { InlineError } from '../../components/states';
import { safeNextPath } from '../../lib/url';

export function LoginPage() {
  const [password, setPassword] = useState('');
  const [params] = useSearchParams();
  const next = safeNextPath(params.get('next'));
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const me = useMe();
  useDocumentTitle('Log in');

  const login = useMutation({
    mutationFn: (pw: string) => api.auth.login(pw),
    onSuccess: (res) => {
      setCsrfToken(res.csrfToken);
      rememberSession(true);
      queryClient.setQueryData<Me>(keys.me, { kind: 'operator', csrfToken: res.csrfToken });
      navigate(next, { replace: true });
    },
    onError: () => setPassword(''),
  });

  if (me.data) return <Navigate to={next} replace />;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (password) login.mutate(password);
  };

  return (
    <div className="login">
      <form className="login-card" onSubmit={submit} data-testid="login-form">
        <div className="login-brand">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <span>Sentori</span>
        </div>
        <label htmlFor="password">Admin password</label>
        <input
          id="password"
          name="password"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          data-testid="login-password"
        />
        <InlineError error={login.error ? loginError(login.error) : null} />
        <button type="submit" className="btn btn-primary" disabled={!password || login.isPending} data-testid="login-submit">
          {login.isPending ? 'Logging in…' : 'Log in'}
        </button>
        <p className="login-help">
          The password is <code>SENTORI_ADMIN_PASSWORD</code>; <code>make run</code> prints the one it generated.
        </p>
      </form>
    </div>
  );
}
