import { useParams, useSearchParams } from 'react-router';
import { PageHeader } from '../../components/PageHeader';
import { RecipientsPanel } from './RecipientsPanel';
import { SourceMapsPanel } from './SourceMapsPanel';
import { TokensPanel } from './TokensPanel';
import { useDocumentTitle } from '../../components/useDocumentTitle';

const TABS = [
  { value: 'tokens', label: 'Tokens' },
  { value: 'recipients', label: 'Email recipients' },
  { value: 'sourcemaps', label: 'Source maps' },
] as const;
type Tab = (typeof TABS)[number]['value'];

export function SettingsPage() {
  useDocumentTitle('Settings');
  const { pid = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const tab: Tab = TABS.find((t) => t.value === params.get('tab'))?.value ?? 'tokens';
  return (
    <div className="page">
      <PageHeader title="Project settings" />
      <nav className="tabs" aria-label="Settings">
        {TABS.map((t) => (
          <button
            key={t.value}
            type="button"
            className={`tab${tab === t.value ? ' tab-active' : ''}`}
            aria-pressed={tab === t.value}
            onClick={() => setParams(t.value === 'tokens' ? {} : { tab: t.value })}
            data-testid={`settings-tab-${t.value}`}
          >
            {t.label}
          </button>
        ))}
      </nav>
      {tab === 'tokens' && <TokensPanel pid={pid} />}
      {tab === 'recipients' && <RecipientsPanel pid={pid} />}
      {tab === 'sourcemaps' && <SourceMapsPanel pid={pid} />}
    </div>
  );
}
