"""The built-in English lexicon: the B2B reason taxonomy's words, guards, cues and grammar.

Phrases are written as people write them; each word is matched by its stem, so "crash" also
finds "crashes" and "crashed" (worker/rules/tagging/lexicon.py has the marks `*`, `…`, `=`).
What each tag covers follows tests/data/LABELLING.md; measured by benchmarks/tagging_quality.py.
"""

from worker.rules.tagging.grammar import Builtin, Grammar
from worker.rules.tagging.lexicon import Words, phrases

_SYSTEMS = phrases(
    """salesforce, hubspot, slack, microsoft teams, ms teams, gmail, outlook, office 365,
    microsoft 365, google calendar, google drive, google contacts, google sheets, google docs,
    google workspace, g suite, jira, confluence, asana, trello, monday.com, github, gitlab, sap,
    business one, netsuite, oracle, dynamics, workday, xero, quickbooks, sage, shopify, woocommerce,
    magento, stripe, paypal, docusign, dropbox, onedrive, sharepoint, mailchimp, marketo, intercom,
    zendesk, freshdesk, twilio, servicenow, bamboohr, adp, gusto, greenhouse, lever, tableau,
    power bi, looker, snowflake, bigquery, redshift, kintone, freee, money forward, sansan,
    line works, chatwork, smarthr, yayoi, bugyo, okta, onelogin, auth0, azure ad, entra,
    active directory, google sso, ping identity, jumpcloud, zapier, make.com, workato, mulesoft,
    segment, airtable, notion, calendly, linkedin, whatsapp, teams app, teams integration,
    quickbooks online, sage intacct, epicor, infor, odoo, erp, hris, wms, accounting software,
    accounting system, payroll provider, bank feed, bank feeds, data warehouse, bi tool,
    bi connector, our bank, our own systems, other systems, other tools, our systems, third party,
    third-party, legacy system, existing systems"""
)

_CONNECTIONS = phrases(
    """integration, integrations, integrate, integrates, integrated, integrating, native integration,
    connector, connectors, connect, connects, connected, connecting, connection to, connections,
    two-way sync, one-way sync, one-way, two-way, bidirectional, bi-directional, synchronization,
    api, apis, rest api, open api, public api, api access, api docs, api documentation, rate limits,
    rate limit, sdk, sdks, webhook, webhooks, plugin, plug-in, plugins, plug-ins, plugs into, plugs
    straight into, plug into, plugged into, extension, extensions, add-in, addin, browser extension,
    chrome extension, outlook add-in, marketplace, app marketplace, app store, ecosystem, sso,
    single sign-on, single sign on, saml, scim, ldap, idp, oauth, provisioning, scim provisioning,
    directory, google login, login with google, import tool, importer, export, exports, exporting,
    exported, export to, csv, csv import, csv export, excel import, excel export, spreadsheet
    import, sftp, ftp, edi, xml feed, file drop, bank file, bank files, bank transfer file, bank
    transfer files, bi connector, data warehouse, talks to, talked to, talk to, works with, work
    with, pulls from, pulls actuals, pulls data, pull data, push data, pushes data, push to, pushes
    to, pulls, straight from our, middleware, custom integration, developer, developers, devs, our
    devs, our developers, dev team, it team, our it, zap, zaps, ipaas, etl, data feed, feeds, open
    platform, closed box, walled garden, calendar sync, contact sync, email sync, inbox sync, line,
    google, microsoft, azure, aws, drive, box, erp system, hr system, bank, banks, =teams,
    =accounting, ms teams, =import, =imports, =imported, =importing, sync with, syncs with, synced
    with, syncing with, sync to, sync from"""
)

TAGS = {
    "feature_value": Words(
        topic=phrases(
            """feature, features, feature set, functionality, functionalities, capability,
            capabilities, module, modules, out of the box, does everything, does what we need,
            everything we need, all we need, custom report, custom reports, report builder,
            report types, forecasting, forecasting module, what-if, scenario planning,
            workflow builder, automation, automations, automate, automates, automated, templates,
            custom fields, custom field, custom objects, custom object, customizable, permissions,
            role-based permissions, role-based, user roles, audit log, audit trail, audit trails,
            bulk edit, bulk actions, bulk editing, bulk update, bulk delete, bulk approval,
            recurring, recurring tasks, recurring shifts, subtasks, sub-tasks, task dependencies,
            time tracking, client portal, customer portal, offline mode, e-signature, esignature,
            e-signatures, digital signature, approval chains, approval flow, approval flows,
            approval workflows, approval chain, approval workflow, kanban, kanban board, gantt,
            gantt chart, timeline view, calendar view, board view, list view, saved views,
            fuzzy search, fuzzy matching, multi-currency, multi currency, multi-entity,
            multi entity, multi-language, multilingual, multi-language support, language support,
            currency support, right-to-left, territory management, lead scoring, inventory costing,
            route optimization, load planning, visual builder, workflow builder, ai features,
            candidate pipeline, pipeline board, onboarding module, new-hire onboarding,
            onboarding flows, learning paths, contract management, contract templates,
            clause library, price rules, pricing rules, invoice matching, billing module,
            subscription management, ticket routing, routing rules, sla timers, sla rules, roadmap,
            feature request, feature requests, document management, e-invoicing, version history,
            custom dashboard, custom dashboards, dashboard feature, form builder, branching logic,
            deduplication, lead routing, capacity planning, resource planning, demand forecasting,
            production planning, partial shipments, split shipments, time budgets, shift swap,
            shift patterns, expense policy, receipt scanning, payslip distribution,
            bank reconciliation, automatic reconciliation, reconciliation engine, pivot tables,
            pivot table, the product does, does the job, does its job, =reporting, =customization,
            =customisation, discount approvals, does 90%, =configurable"""
        ),
        weak_praise=phrases(
            """lets us, let us, allows us, enables us, saves us, saved us, saves our, saves me,
            saved me, game changer"""
        ),
        weak_problems=phrases("""no way to, there is no way, would love, would love an, wish"""),
        weak=phrases(
            """useful, handy, function, functions, reports, report, analytics, insights, dashboard,
            dashboards, search, app, the app, the product, product, platform, software, system,
            solution, capable, flexible, flexibility, options, real-time, real time, live data,
            visibility, overview, data model, calendar, scheduling, schedule, notifications, alerts,
            reminders, can now, we can, being able to, able to, can not, unable to, no option,
            no options, no ability, the ability, option to, ability to, mobile, mobile app, ipad,
            iphone, android, tablet, offline, views, board, filters, workflow, workflows, template,
            forecast, scenario, what if, predictions, prediction, spot on, pipeline, pipelines,
            inventory, payslip, payslips, payroll, payroll run, reconciliation, invoicing, quoting,
            quotes, quote editor, quoting tool, route planning, editor, builder, engine, toolset,
            ai, hiring, recruiting, objects, field service, time off, leave management, shift,
            shifts, rota, rostering, expense, expenses, receipts, ocr, budgeting, benefits,
            performance reviews, okrs, goals, surveys, survey, forms, compliance, tax, taxes, pdf,
            pdf export, print, printing, barcode, scanning, health scores, history, multi-store,
            multi-site, locations, territories, commission, commissions, cpq, merge, merging,
            enrichment, segmentation, campaigns, sequences, email templates, a/b testing,
            landing pages, serial numbers, batch tracking, lot tracking, returns, dispatch, route,
            routes, appointment, booking, bookings, client history, customer history, timeline,
            activity feed, approval, approvals, kanban, estimates, the core, core, basics, audit,
            subscriptions feature, the features, =planner, =planning, =configuration"""
        ),
        problems=phrases(
            """too basic, very basic, basic stuff, basic features, missing features,
            missing feature, feature gap, feature gaps, lacks features, lack of features,
            not enough features, limited features, limited functionality, lacking functionality,
            lacks basic, half-baked, half baked, unfinished, doesn't do, does not do, cannot handle,
            can not handle, not able to handle, can't handle, still can not, still no,
            still doesn't, still does not have, can not create, can not set, can not schedule,
            can not split, can not do, can not add, can not filter, can not sort, can not customize,
            can not edit, can not change, can not assign, can not track, can not manage,
            not possible to, impossible to, would give a 9 if, would be a 10 if, if it had,
            if only it had, wish it had, wish there was, wish they would add, please add,
            need a proper, needs a proper, definitely need, we really need, would love a,
            would love to see, would be nice to have, would be great to have, missing some things,
            missing basic, is missing, are missing, thin, too limited, very limited, limitations,
            lacking, lacks, lack of, no native, doesn't have, does not have, doesn't support,
            does not support, not supported, no support for, not there yet, behind competitors,
            falls short, fall short, out of date features, dead end"""
        ),
        praise=phrases(
            """game-changer, killer feature, exactly what we needed, exactly what we need,
            does everything we need, everything we need, can't live without, can not live without,
            enables us, in one place, all in one, all-in-one, one tool, powerful, feature-rich,
            feature rich, rich feature set, great features, love the features, well worth it for,
            worth it for, pays for itself, has everything, has it all, covers everything,
            covers all, spot on, works for our, fits our, fits us, tailored to, so much time,
            hours a week, hours every week, a day a week, a day a month, catch out, catches,
            long overdue"""
        ),
    ),
    "usability": Words(
        topic=phrases(
            """usability, user experience, ux, ui, user interface, interface, design, new design,
            redesign, re-design, layout, navigation, navigate, navigating, submenu, sub-menu,
            clicks, click, one click, two clicks, three clicks, number of clicks, one screen,
            separate tab, new tab, font size, text size, color scheme, colour scheme, theme,
            dark mode, look and feel, the look, looks, visual, visuals, visually, learning curve,
            to learn, figure out, find things, find anything, find stuff, find what,
            where you expect, where you'd expect, self explanatory, self-explanatory, shortcuts,
            keyboard shortcuts, drag and drop, drag-and-drop, pop ups, pop-ups, popups, modals,
            modal, dropdown, dropdowns, drop-down, scrolling, scroll, cramped, readability,
            readable, legible, settings page, settings pages, admin console, user friendly,
            user-friendly, ease of use, easy to use, easy to learn, easy to navigate,
            easy to understand, easy to find, easy to pick up, easy on the eyes, tooltips,
            tool tips, in-app guide, in-app guides, in app help, walkthroughs, translation, wording,
            labels, terminology, jargon, undo, tab order, mobile version, mobile experience,
            mobile view, on mobile, on my phone, steps, many steps, home screen, search bar,
            the editor, fields layout, one page, where things are, explain it, explaining it,
            team picked it up, onboard new staff, picked up"""
        ),
        problems=phrases(
            """clunky, confusing, confused, cluttered, complicated, cumbersome, awkward, clumsy,
            unintuitive, counterintuitive, counter-intuitive, hard to use, difficult to use,
            hard to navigate, hard to learn, hard to find, hard to figure, hard to figure out,
            hard to read, hard to tell, hard to understand, difficult to navigate,
            difficult to find, difficult to learn, can not find, never find, overwhelming,
            overwhelmed, a maze, maze, messy, ugly, outdated, old-fashioned, old fashioned,
            looks like 2009, looks old, unusable, tedious, fiddly, too many clicks, too many steps,
            too many screens, too many pop, too many popups, too many pop-ups, too many tabs,
            too many menus, too many options, too many buttons, buried, hidden, tiny, small font,
            too small, grey-on-grey, grey on grey, gray on gray, moved everything around,
            moved everything, steep learning curve, learning curve is, struggle, struggles,
            struggling, not obvious, not intuitive, takes weeks to learn, hard to get used,
            lost in the menus, confusing labels, cryptic, unclear, inconsistent, all over the place,
            needs work, ui needs work, nightmare to use, needs a manual, zoom in, have to zoom,
            you have to zoom, pinch, squint, look the same, looks the same, hard to tell apart,
            scroll forever, endless scrolling, six screens, 6 screens, four screens, 4 screens,
            three modals, several screens, separate tab, different screens, =dated, looks =dated"""
        ),
        praise=phrases(
            """intuitive, easy, easier, easiest, easy to use, simple, simpler, simplicity,
            straightforward, cleaner, self explanatory, self-explanatory, pleasant to use,
            nice to use, joy to use, a joy, effortless, effortlessly, polished, sleek, modern,
            slick, well designed, well-designed, well laid out, laid out logically, logical,
            logically, makes sense, uncluttered, no digging, barely needed the training,
            barely needed training, didn't need training, did not need any training,
            did not need training, didn't need any training, no training needed, without training,
            without any training, without a manual, without reading the manual, without the manual,
            learned it in, learnt it in, picked it up, pick it up, up to speed quickly,
            second nature, no learning curve, minimal training, little training,
            hardly any training, one click away, everything is one click, where you'd expect it,
            where you expect it, just makes sense, beautiful, beautifully, elegant, lovely design,
            nice ui, great ui, clean ui, clean design, clean interface, easy on the eyes, readable,
            clear layout, fewer clicks, less clicks, two clicks, use it without, uses it without,
            use it without being asked, without being asked, hate computers, without complaining,
            dont need me, not need me anymore"""
        ),
        weak=phrases(
            """clear, clear enough, nice to use, pleasant, enjoyable, easy to pick up, friendly,
            minimal, modern look, design is, new look, experience, the experience, to use, use it,
            using it, form, forms, tables, table, page, pages, everything is, stuff is, things are,
            find, finding, learn, learned, learnt, learning, understand, understanding, new hires,
            new staff, non technical, non-technical, older staff, our staff, my staff, the staff,
            clean, buttons, button, fonts, font, menu, menus, screens, screen, tabs, colors,
            color"""
        ),
    ),
    "quality": Words(
        attribute_problems=phrases(
            """slow, slowly, slower, slowness, painfully slow, takes forever, take forever,
            took forever, takes ages, sluggish"""
        ),
        attribute_praise=phrases(
            """fast, faster, fastest, quick, quickly, speedy, snappy, responsive, instant,
            instantly, super fast, very fast, so fast, really fast"""
        ),
        weak_praise=phrases("""just works, it just works, solid, smooth, smoothly, accurate"""),
        yield_to=("support", "onboarding"),
        topic=phrases(
            """maintenance, maintenance window, maintenance windows, scheduled maintenance,
            incident, incidents, performance, uptime, up-time, stability, reliability, load time,
            load times, loading time, loading times, page load, latency, response times of the app,
            quality of the product, product quality, build quality, data integrity, data quality,
            data accuracy, availability, sla uptime, bugs, bug fixes, bug fix, release quality,
            updates break, releases, they picked up, picked up the phone, pick up the phone"""
        ),
        problems=phrases(
            """bug, buggy, glitch, glitches, glitchy, crash, crashes, crashy, freeze, freezes,
            froze, frozen, freezing, hangs, hung, hang, lag, lags, laggy, lagging, latency,
            slowdown, slow down, crawl, crawls, crawling, take forever, took forever,
            forever to load, ages to load, long to load, takes a minute to load, seconds to load,
            minutes to load, not load, fails to load, failed to load, won't load, will not load,
            not loading, not respond, not responding, unresponsive, not save, not saving,
            did not save, not work, not working, stopped working, stop working, stops working,
            broken, broke, breaks, break, breaking, error, errors, 502, 500 error, 503, 504, 404,
            500 errors, 502 errors, server error, white screen, goes white, went white,
            blank screen, blank page, spinning wheel, spinner, spins, outage, outages, went down,
            goes down, go down, going down, is down, was down, been down, were down, down for,
            down during, down again, down twice, downtime, unavailable, not available, inaccessible,
            timeout, timeouts, time out, timed out, times out, timing out, fail, fails, failed,
            failure, failures, failing, lost data, data loss, lose data, losing data, loses data,
            lost a, lost the, lost our, lost my, lost all, loses drafts, loses, lost work,
            lost drafts, lost changes, vanish, vanished, vanishes, disappear, disappeared,
            disappears, wiped, got deleted, deleted itself, missing data, went missing, go missing,
            goes missing, duplicate, duplicates, duplicated, duplicating, duplication, double book,
            double books, double-books, double-booked, double booking, double post, double posts,
            double posting, double postings, posted twice, sent twice, duplicate emails,
            wrong total, wrong totals, wrong amount, wrong amounts, wrong number, wrong numbers,
            wrong tax, wrong figures, wrong data, wrong contact, wrong date, wrong dates,
            wrong time, wrong values, wrong record, wrong account, incorrect, inaccurate, not match,
            didn't match, did not match, don't match, do not match, mismatch, mismatched,
            out of sync, garbled, corrupt, corrupted, corruption, log me out, logs me out,
            logging me out, logged out, logs us out, logging us out, logs out, kicked out,
            kicks me out, kicks us out, session expires, session expired, session timeout,
            locked out, can not log in, can not login, can not sign in, login error, login errors,
            login issues, login problems, sign-in issues, unstable, instability, flaky, flakey,
            unreliable, keeps failing, keep failing, hiccup, hiccups, hiccupped, hiccuped,
            performance issues, performance issue, performance problems, technical issues,
            technical problems, stability issues, silently stopped, stopped syncing, stops syncing,
            randomly, random errors, randomly fails, crashes constantly, arrive late,
            arrive hours late, hours late, arrives late, late notifications, delayed notifications,
            notifications are late, not arrive, never arrive, never arrived, not sent, not go out,
            did not go out, didn't go out, regression, regressions, old versions, old version of,
            time zone bug, timezone bug, timezone offset, time zone offset, rounding errors,
            calculation errors, miscalculat*, miscalculated, wrong calculation, data errors,
            data error, backend problem, backend issue, server issues, server problems,
            went offline, goes offline, offline again, restart it, restart, reboot, had to rerun,
            rerun it, choke, choked, chokes, choking, freezes the browser, browser tab crashes,
            memory, heavy, bloated, maddening lag, page lags, pages lag, keeps crashing,
            keeps freezing, keeps logging, keeps dropping, drops, dropped, dropping records,
            mess of versions, seeing old versions, slow as, snail, integration broke,
            integration broken, sync broke, sync breaks, connector crashes, clear our cache,
            clear your cache, clear the cache"""
        ),
        praise=phrases(
            """reliable, reliably, stable, rock solid, rock-solid, bulletproof, robust, 100% uptime,
            100% of the time, up 100%, never down, never goes down, always up, always available,
            never crashes, never crashed, never had an outage, zippy, loads quickly, load quickly,
            loads fast, load fast, quick to load, quickly to load, loads instantly, load instantly,
            lightning fast, blazing fast, very fast, really fast, fast and, it's fast, is fast,
            performant, just runs, runs smoothly, runs fine, never lost, never lose, zero downtime,
            no downtime, no outages, no bugs, bug free, bug-free, error free, error-free,
            issue free, trouble free, trouble-free, hassle free, no hiccups, not a single hiccup,
            solid uptime, reliable uptime, great uptime, scales, scales well, keeps up, even on,
            even with, even during, even when, even at peak, even on black friday, always accurate,
            always correct, numbers are right, quick to load, outages are rare, rare outages,
            outages are few, incidents are rare, only one incident, one incident all year,
            rarely down, rarely goes down, rarely crashes, rarely any issues, rarely have issues"""
        ),
        weak=phrases(
            """quality, problem with the app, problems with the app, app problems, peak season,
            month end, black friday, vendor, the vendor"""
        ),
        weak_problems=phrases("""issue, issues, trouble, troubles, glitchy"""),
    ),
    "onboarding": Words(
        topic=phrases(
            """onboarding, on-boarding, onboard, onboarded, onboarding team, onboarding specialist,
            onboarding manager, onboarding program, onboarding programme, onboarding package,
            onboarding materials, onboarding videos, onboarding course, onboarding call,
            onboarding process, onboarding session, onboarding sessions, onboarding side,
            premium onboarding, implementation, implementations, implementation team,
            implementation partner, implementation consultant, implementation lead,
            implementation plan, implementation fee, implementation manager, implementation project,
            implementation side, implementation specialist, implementation support, implemented,
            initial setup, initial set up, initial configuration, setup fee, setup guide,
            setup guides, setup wizard, setup process, setup call, kickoff, kick-off, kick off,
            kickoff call, kickoff meeting, go live, go-live, went live, going live, live in,
            up and running, rollout, roll out, rolling out, migration, migrations, migrate,
            migrated, migrating, data migration, data import at go-live, historical data,
            switching over, switch over, switched over, cutover, cut-over, transition, trainer,
            trainers, training session, training sessions, training webinar, training webinars,
            webinar, webinars, initial training, admin training, end-user training,
            train the trainer, train-the-trainer, getting started, get started, getting-started,
            getting started checklist, starter, starter kit, welcome call, consultant, consultants,
            implementation consultants, project manager, project plan, hypercare, pilot, free pilot,
            sandbox environment, first month, first few weeks, in the beginning, at the start,
            start-up, handover, hand-off, handoff, academy, courses, course, tutorials, tutorial,
            tutorial videos, video tutorials, onboarding checklist, time to value, ramp up, ramp-up,
            deployment, deploy, deployed, configured, configuring, configuration help, provisioning,
            launch, launched, started using, starting out, new customer, new customers, early days,
            during setup, during implementation, during onboarding, before going live, rehearsal,
            acceptance testing, uat, project, the project, our project, hands-on, hands on,
            workshop, workshops, sessions, session, slide deck, slides, the plan, structured plan,
            clear plan, clear owners, milestones, =training, =trainings, =trained, setup took,
            setup was, setup went, setup is, setup has, migrating from"""
        ),
        problems=phrases(
            """rushed onboarding, onboarding was rushed, rushed, generic onboarding, dragged on,
            drag on, slipped, go-live slipped, delayed go-live, on our own, left alone,
            figured out most of the setup ourselves, slog, nobody told us, no one told us,
            nobody explained, no one explained, missing half the steps, all theory"""
        ),
        praise=phrases(
            """smooth onboarding, smooth implementation, smooth go-live, smooth rollout,
            painless setup, painless onboarding, quick setup, setup was quick, setup was painless,
            setup was easy, easy setup, easy to set up, up and running in, live in two weeks,
            live in a week, live in three weeks, went smoothly, well organised, well organized,
            structured, thorough"""
        ),
        weak=phrases(
            """beginning, initially, at first, adoption, videos, sandbox, first week, first weeks,
            setup, set-up, set up, setting up"""
        ),
    ),
    "support": Words(
        topic=phrases(
            """support, customer support, tech support, technical support, support team,
            support staff, support people, support agent, support agents, support rep, support reps,
            support folks, support guys, support engineer, support engineers, support desk,
            support line, support hours, support portal, support chat, support tickets,
            support ticket, support response, support responses, support's answer, phone support,
            email support, chat support, live chat, premium support, 24/7, 24/7 support, help desk,
            helpdesk, service desk, customer service, customer care, customer success,
            customer success manager, success manager, success team, chatbot, bot, callback,
            call back, called back, get back to, got back to, gets back, got back, respond,
            responds, responded, responding, response time, response times, reply, replies, replied,
            replying, answer, answered, answering, got an answer, get an answer, real answer,
            scripted, email to support, emails to support, csm, csms, our csm, account manager,
            account managers, account management, account rep, account executive, account team,
            sales rep, sales reps, our rep, sales team, salesperson, tam, technical account manager,
            qbr, qbrs, business review, business reviews, check in, checks in, checked in,
            checking in, health check, help center, help centre, help articles, help article,
            help docs, help pages, knowledge base, faq, faqs, status page, status updates,
            incident updates, escalate, escalated, escalation, escalations, suggested workarounds,
            working as designed, by design, clear our cache, clear your cache, a human, get a human,
            human, on the phone, phone line, hold, on hold, pick up the phone, same day, same-day,
            within hours, within minutes, in minutes, within an hour, in an hour, feature requests,
            feature request, they listen, listens, listened, care, cares, genuinely cares,
            partnership, relationship, communication, communicate, communicated, reachable,
            unreachable, the vendor, the company, the team behind, people behind, analysts,
            specialist, specialists, engineer, engineers, experts, expert, knowledgeable,
            knows the product, know the product, know our account, knows our setup, they explain,
            explained, explains, they remember, know our history, follow up, follows up,
            followed up, follow-up, acknowledge, acknowledged, admit, admitted, told us, telling us,
            tells us, sends links, send links, links to, documentation, docs, guide, guides,
            weekend, weekends, evenings, after hours, business hours, time zone, timezone, asia,
            apac, emea, local support, japanese support, in japanese, language barrier,
            english only, =canned reply, =canned answer, =canned response, =canned, needed help,
            need help, needing help, on a call, jumped on a call, phone call,
            suggesting workarounds, support hours"""
        ),
        problems=phrases(
            """slow support, support is slow, support was slow, support takes days,
            support is painfully slow, slow to respond, slow to reply, slow to answer,
            slow to get back, slow response, slow responses, slow replies, no reply, no response,
            no answer, never replied, never responded, never answered, never heard back,
            no one replied, nobody replied, without anyone replying, without replying,
            without a reply, stopped replying, stopped responding, ghosted, sit for days,
            sits for days, took days, takes days, took weeks, takes weeks, waited days, wait days,
            we wait, waiting for, auto-closes, auto-close, auto closes, closed the ticket,
            close the ticket, closed as resolved, canned answer, scripted, just sends links,
            sends a link, same faq, link to the faq, useless chatbot, chatbot is useless,
            passed around, bounced around, transferred, refused to help, no help, no idea,
            had no idea, didn't know, did not know, different answers, diffrent answers,
            contradictory answers, never escalate, no one knows, noone knows, nobody knows,
            changes every, keeps changing, left in the middle, left mid-project, vanished,
            disappeared after, pushy, stopped calling, =canned replies, =canned responses"""
        ),
        praise=phrases(
            """easy to work with, pleasure to work with, great to work with, good to work with,
            nice to work with, a joy to work with, easy to deal with, great to deal with,
            quick to respond, quick to reply, fast to respond, super responsive, very responsive,
            always responsive, friendly, patient, knowledgeable, proactive, went above and beyond,
            above and beyond, goes the extra mile, extra mile, best support, great support,
            excellent support, amazing support, fantastic support, support is great,
            support is excellent, support was great, support has been great, they picked up,
            quick answers, fast answers, quick replies, fast replies, answered in minutes,
            answered within, replied within, responded within, real answer, not a canned one,
            they care, really care, genuinely cares, felt like a partnership, they listen,
            remember us, know our history, top notch, top-notch, first class, world class"""
        ),
        weak=phrases(
            """answers, response, email, emails, phone, chat, ticket, tickets, team, staff, folks,
            the people, their team, =lovely"""
        ),
    ),
    "price_contract": Words(
        weak_praise=phrases("""no surprises"""),
        topic=phrases(
            """price, prices, pricing, priced, price point, price increase, price hike, price rise,
            cost, costs, costly, expensive, pricey, pricy, cheap, cheaper, cheapest, affordable,
            afford, affordability, overpriced, inexpensive, value for money, good value,
            great value, value for the price, value for what we pay, worth the money,
            worth every penny, worth the price, worth the cost, worth the licence cost,
            worth the license cost, for the money, money, payment, payments, payment method,
            payment methods, fee, fees, charge, charged, charges, charging, billing, billed,
            invoicing us, credit note, refund, refunds, refunded, discount, discounts, discounted,
            nonprofit discount, non-profit discount, education discount, license, licenses,
            licensed, licensing, license cost, license costs, license fee, seat, seats, per seat,
            per-seat, per user, per-user, per month, per year, per contact, per minute, =plan,
            =plans, pricing plan, annual plan, monthly plan, our plan, top plan, enterprise plan,
            standard plan, base plan, basic plan, free plan, premium plan, business plan,
            cheaper plan, higher plan, upper plan, tier, tiers, pricing tier, enterprise tier,
            free tier, base tier, top tier, tier limit, upgrade, upgraded, downgrade, add-on,
            add-ons, addon, addons, paid add-on, paid extra, extra cost, extra costs, extra charge,
            charge extra, at no extra cost, no extra cost, no additional cost, for free,
            free of charge, budget, budgets, roi, return on investment, contract, contracts,
            contractual, renewal, renewals, renew, renewed, renewing, auto-renew, auto-renewed,
            auto-renewal, auto renew, notice period, notice window, locked in, lock-in, lock in,
            no lock-in, order form, terms, commitment, minimum commitment, minimum term, minimum of,
            seat minimum, seat minimums, subscription, subscriptions, annual, monthly billing,
            annual billing, renewal quote, competitor's quote, procurement, purchase order,
            currency conversion fee, conversion fee, exchange rate, $, €, £, ¥, dollars, euros, yen,
            k a year, cancel, cancellation, canceling, cancelling, termination, terminate, trial,
            free trial, free pilot, free months, months free, two months free, setup fee,
            implementation fee, onboarding fee, pay more, paying more, pay for, paying for,
            paid for, we pay, what we pay, what you pay for, you get what you pay for,
            for what we pay, for what it is, for the price, at this price, at that price,
            this price, the price, expensive for, too expensive, hard to justify, justify the cost,
            double charged, charged twice, overcharged, billing error, billing errors,
            billing issue, billing question, vat, tax on invoices, credit card, credit card only,
            card only, bank transfer payment, wire transfer, po, pos, packaging, bundle, bundles,
            bundled, unbundled, list price, sticker price, negotiate, negotiation, negotiated,
            commercial, commercials, commercial terms, discounting, price per, costs us, cost us,
            pricing page, contact sales, transparent pricing, pricing transparency, hidden costs,
            hidden fees, surprise charges, surprises on the invoice, paywall, paywalled,
            locked behind, behind the top plan, behind a higher tier, premium tier,
            only on the enterprise, only on enterprise, only available on, only for premium,
            enterprise only, enterprise-only, costs extra, cost extra, charged extra, paid plan,
            separate paid plan, paid tier, billed for, billed separately, billed twice, got billed,
            got invoiced, invoiced for, invoice from, their invoices, vendor invoices,
            copy of an invoice, on the invoice, on our invoice, invoices are confusing,
            confusing invoices, the quote, a quote, new quote"""
        ),
        problems=phrases(
            """too expensive, very expensive, so expensive, overpriced, pricey, pricy, price doubled,
            prices doubled, doubled the price, price went up, prices went up, price increase, price
            increases, price hike, hiked, went up, jumped, 30% higher, higher, more expensive, price
            gouging, gouging, double charged, charged twice, overcharged, hidden fees, hidden costs,
            surprise charges, nickel and dime, nickel-and-dime, nickel and diming, arbitrary,
            ridiculous, a joke, trap, feels like a trap, locked in, hard to justify, can not
            justify, not worth, not worth the money, waste of money, paying for nothing, pay for
            nothing, paying for unused, charge extra, charges extra, charging extra, costs extra,
            paid add-on, locked behind, behind the top plan, paywall, paywalled, only on enterprise,
            only on the enterprise, enterprise only, only for premium, additional cost, please
            include, additional charge, price is high, pricing is high, prices are high, a bit high,
            too high, quite high, bit pricey"""
        ),
        praise=phrases(
            """good value, great value, excellent value, value for money, worth every penny,
            worth the money, worth the price, worth the cost, worth the licence cost,
            worth the license cost, affordable, reasonably priced, reasonable price,
            reasonable pricing, fair price, fair pricing, fairly priced, price is fair, cheap,
            cheaper, inexpensive, transparent pricing, no surprises on the invoice, no hidden fees,
            no hidden costs, no lock-in, discount, discounts, free, for free, at no extra cost,
            no extra cost, included, included in the price, waived, honoured, honored,
            saved a good chunk, get what you pay for, you get what you pay for, flat, stayed flat,
            hasn't changed, has not changed, price has stayed, included in the standard plan,
            included in every plan, included in the price, included in our plan"""
        ),
    ),
    "integrations": Words(
        topic=(*_SYSTEMS, *_CONNECTIONS),
        problems=phrases(
            """no integration, no integrations, no native, no connector, no api, no webhooks,
            no webhook, one-way only, only one-way, only a one-way, read-only api, nightly only,
            closed box, doesn't integrate, does not integrate, doesn't connect, does not connect,
            not integrate, can not connect, can not integrate, sync issues, sync broke,
            integration broke, broke the integration, api limits, rate limits are,
            integration broke, integration broken"""
        ),
        praise=phrases(
            """seamless, seamlessly, works with everything, integrates with everything,
            plugs straight into, talks to everything, well documented, well-documented, good docs,
            great docs, good api, great api, open api, bulletproof"""
        ),
        weak=phrases("""docs, documentation, data, excel, sync, syncs, synced, syncing"""),
    ),
}

GUARDS = phrases(
    """no problem, no problems, no worries, keep it up, thank you, thanks, good product,
    great product, great company, good company, great tool, good tool, love it, love this,
    love this product, love this tool, will recommend, would recommend, recommend it,
    highly recommend, solid 9, solid 10, =supports, =supported, =supporting, support for,
    support us, supported us, customer onboarding, customer onboarding flows, new-hire onboarding,
    employee onboarding, onboarding module, onboarding checklist feature, onboarding flows,
    onboarding feature, union contract, contract management, contract templates, contract module,
    invoice matching, invoicing module, invoice module, invoicing feature, billing module,
    billing feature, price rules, pricing rules, price list, price lists, quality management,
    quality control, quality module, ticket routing, ticketing module, ticketing system,
    our tickets to customers, our customers' tickets, fuel costs, shipping costs, labor costs,
    labour costs, operating costs, admin costs, overtime costs, cost savings, cut costs,
    cut our costs, cost tracking, cost centers, expense reports, expense approval, expences,
    team members, my team, our team, the whole team, whole company, the whole company, our company,
    my managers, my manager, our managers, our reps, sales reps use, our ops, ops team,
    finance team, our finance, our it team, it team, hr team, my boss, the users, on the train,
    free tier and upgrade, same thing, for the same thing, work with it, work in it,
    easy to recommend, hard to recommend, recommend, training data, learning paths,
    machine learning, up to date, up-to-date, in sync with, the support of, with the support of,
    edits made on the phone, on the phone app, ticket sales, sales pipeline, sales process we,
    our sales process, our process, sales team uses, tab order, tabs open, the board, our board,
    board deck, board meeting, day one, from day one, every day, day to day, day-to-day, easy 9,
    easy 10, easy to build on, step by step, billing question, data question, our invoices,
    we invoice, we bill, invoice in, bill in, from our old … system, from our old … crm,
    our old system, previous system, previous vendor, our previous, old crm"""
)

PRAISE = phrases(
    """great, good, love, loved, loving, fantastic, brilliant, amazing, awesome, easy, painless,
    seamless, reliable, clear, fair, reasonable, affordable, worth, perfect, nice, best, happy,
    pleased, impressed, thorough, well done, super, superb, friendly, patient, knowledgeable,
    proactive, just works, appreciated, appreciate, game changer, included, free, thanks, thank you,
    excited, enjoy, enjoyed, recommend, wonderful, outstanding, stellar, top notch, top-notch,
    kudos, props, fixed fast, fixed quickly, fix out within hours, within hours, in minutes,
    within minutes, same day, spot on, bulletproof, rock solid, flawless, flawlessly, fine,
    works well, worked well, well, better, improved, improvement, saves, win, winner, gold, cool,
    neat, impressive, delight, delighted, glad, grateful, honest, transparent, organised, organized,
    structured, tailored, effective, efficient, confident, confidence, trust, partnership, care,
    cares, genuinely, actually wanted, wanted us to succeed, favourite, favorite, joy, pleasure,
    no surprises, never, zero, effortless, intuitive, stable, simple, sorted, resolved, solved,
    solves, fixes, sleek, delivered, generous, decent, reasonably, bargain, competitive,
    accommodating, flexible, appreciated, honoured, honored, waived, matched, convinced, i like,
    we like, really like, =excellent, =liked"""
)

COMPLAINT = phrases(
    """bad, poor, poorly, terrible, awful, horrible, painfully, hate, hated, frustrat*, annoy*,
    confusing, clunky, broken, useless, weak, thin, basic, lacking, lacks, expensive, ridiculous,
    joke, nightmare, mess, waste, disappointing, disappointed, disappointment, unacceptable, worse,
    worst, struggle, struggles, hard, difficult, impossible, nobody, no one, noone, wait, waited,
    waiting, still, only, shame, pity, rushed, generic, dragged, slipped, delay, delays, delayed,
    late, locked, trap, jumped, doubled, increase, increased, higher, extra, problem, problems,
    fail, failed, fails, failure, error, errors, crash, crashes, bug, bugs, can not, cannot, unable,
    lost, lose, loses, wrong, sadly, unfortunately, sucks, meh, lame, mediocre, subpar, sub-par,
    lousy, pathetic, laughable, dealbreaker, deal breaker, deal-breaker, complain, complaint,
    complaints, concern, concerns, worried, worry, risk, regret, angry, upset, annoyed, tired,
    exhausting, exhausted, please, would love, would be nice, should, want, lack, whyyy, why, maze,
    tiny, cluttered, confusing, buried, unusable, vanished, disappeared, gone, removed, nothing,
    never replied, struggle, slog, pain, headache, hassle, chaos, scramble, forced, force, had to,
    have to, manual, manually, by hand, work around, retype, retyping, copy, copying, twice, thrice,
    three times, 3 times, four emails, 5 emails, junior, reading slides, sloppy, careless, rude,
    dismissive, unhelpful, ignored, ignore, ignores, pushy, aggressive, gouging, arbitrary,
    surprise, surprised, shocked, black box, closed box, weak point, downside, drawback, drawbacks,
    shortcoming, shortcomings, limitation, limitations, limited, cramped, outdated, old, ancient,
    2009, barely, hardly, too, overly, excessive, excessively, not enough, insufficient, inadequate,
    incomplete, half, too short, would have helped, would have been nice, should have, went from
    free, from free to, used to be, no longer, expected more, expected a lot more, expect more,
    =weeks, =days, =months, for weeks, for days, for months, would like, varies, varies a lot,
    inconsistent"""
)

RULED_OUT = phrases(
    """no problems with, no problem with, no issues with, no issue with, no issues there,
    no issue there, no problems there, no complaints there, no complaints about, no complaint about,
    no complaints on, no complaints with, no complaints, nothing wrong with, no real issues with,
    not the issue, not an issue, not the problem, not a problem, not my concern,
    not really my concern, not our concern, not really an issue, is not the issue, aside,
    aside from, apart from, setting aside, can not comment, can not comment on, can not speak to,
    never needed it, did not need, not needed it, no opinion on, not relevant, not why,
    that is not why, is not why, never needed them, never needed to, have not needed it,
    have not needed to, never used it, never used them, have not used it, have not used them"""
)

REQUESTS = phrases(
    """please add, please make, please include, please bring, please fix, please, would like,
    i would like, we would like, would love, wish, would be nice, would be great if,
    it would be great, could be faster, could be better, could be quicker, could be, should be,
    needs to be, need to be, if only, hope you, hopefully, would give a 10 if, would give a 9 if,
    would be a 10 if, would be perfect if, missing"""
)

MILD = phrases(
    """fine, ok, okay, alright, all right, acceptable, decent, not bad, good enough, adequate,
    reasonable, no complaints, no issues, is ok, is fine, was fine, went fine, are fine, is okay,
    is decent, works fine, does the job"""
)

GRAMMAR = Grammar(
    negators=frozenset(
        phrases(
            """not, no, never, without, none, nobody, nothing, zero, hardly, barely, nor, neither"""
        )
    ),
    look_back=4,
    negating_suffixes=frozenset(phrases("""free, less""")),
    contrast=frozenset(
        phrases("""but, however, though, although, yet, whereas, despite, sadly, unfortunately""")
    ),
    intensifiers=frozenset(phrases("""all, ever, once, single, zero, whatsoever""")),
    plain_negators=frozenset(phrases("""not, no""")),
    elliptic=frozenset(phrases("""is, are, was, were""")),
)

BUILTIN = Builtin(
    tags=TAGS,
    grammar=GRAMMAR,
    guards=GUARDS,
    praise=PRAISE,
    complaint=COMPLAINT,
    ruled_out=RULED_OUT,
    mild=MILD,
    requests=REQUESTS,
    compounds=phrases("""support, setup, set up, configuration, setting up"""),
)
