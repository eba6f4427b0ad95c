{#
    Web acquisition channel of a session (METRICS.md, "Web and growth"), from its landing
    event's click ids, utm_medium and referrer host, first rule that matches:
      paid            gclid or fbclid present, or utm_medium in (cpc, ppc, paid, paidsocial)
      email           utm_medium email
      organic_social  utm_medium social
      affiliate       utm_medium affiliate
      referral        utm_medium referral
      organic_search  referrer is a search engine
      organic_social  referrer is a social site
      referral        any other referrer
      direct          no referrer (or one from the site itself)
    utm_medium is compared in lower case.
#}
{% macro web_channel(gclid, fbclid, utm_medium, referrer_host) -%}
    case
        when {{ gclid }} is not null
            or {{ fbclid }} is not null
            or lower({{ utm_medium }}) in ('cpc', 'ppc', 'paid', 'paidsocial')
            then 'paid'
        when lower({{ utm_medium }}) = 'email' then 'email'
        when lower({{ utm_medium }}) = 'social' then 'organic_social'
        when lower({{ utm_medium }}) = 'affiliate' then 'affiliate'
        when lower({{ utm_medium }}) = 'referral' then 'referral'
        when {{ referrer_host }} is null then 'direct'
        when {{ referrer_host }} ~ '{{ search_engine_hosts() }}' then 'organic_search'
        when {{ referrer_host }} ~ '{{ social_site_hosts() }}' then 'organic_social'
        else 'referral'
    end
{%- endmacro %}

{% macro search_engine_hosts() -%}
    ^(.*\.)?(google\.[a-z.]+|bing\.com|yahoo\.[a-z.]+|duckduckgo\.com|baidu\.com|yandex\.[a-z.]+|ecosia\.org|ask\.com|search\.brave\.com|naver\.com|qwant\.com|startpage\.com|aol\.com)$
{%- endmacro %}

{% macro social_site_hosts() -%}
    ^(.*\.)?(facebook\.com|fb\.com|fb\.me|instagram\.com|twitter\.com|x\.com|t\.co|linkedin\.com|lnkd\.in|youtube\.com|youtu\.be|tiktok\.com|reddit\.com|pinterest\.[a-z.]+|whatsapp\.com|wa\.me|t\.me|telegram\.org|threads\.net|discord\.com|tumblr\.com|quora\.com|vk\.com)$
{%- endmacro %}

{# The lower-case host of a URL without a leading "www.", null when there is none. #}
{% macro url_host(url) -%}
    nullif(regexp_replace(
        lower(substring({{ url }} from '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:]+)')),
        '^www\.', ''
    ), '')
{%- endmacro %}
