-- Whether a team's customers see the names of agents typing on their tickets (presence)
ALTER TABLE "teams" ADD COLUMN "presence_shows_agent_names" BOOLEAN NOT NULL DEFAULT false;
